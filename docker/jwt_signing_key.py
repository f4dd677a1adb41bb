"""docker compose: make the user service's token signing key once, in a volume the user service reads.

    python jwt_signing_key.py /run/jwt/signing-key.pem

Runs in the user-service image (it has `cryptography`). An existing key is kept, so tokens stay valid
across `docker compose up` runs; the file belongs to the image's user (10001) and only it may read it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

APP_UID = APP_GID = 10001


def main(path: Path) -> int:
    if path.exists() and path.stat().st_size:
        print(f"signing key kept: {path}")
        return 0
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o400)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    os.chown(tmp, APP_UID, APP_GID)
    tmp.replace(path)
    print(f"signing key created: {path}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(Path(sys.argv[1])))
