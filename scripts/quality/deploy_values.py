"""What the deploy job hands to Helm and kubectl, built from its secret environment variables.

    python3 scripts/quality/deploy_values.py values --release R > "$RUNNER_TEMP/secret-values.json"
    python3 scripts/quality/deploy_values.py aws-secret --release R --namespace N | kubectl apply -f -

`values`: Helm values (JSON, which Helm reads as YAML) for `helm upgrade -f`, so no secret is ever on a
command line. A variable that is unset or empty is left out and the chart's default applies (for the
signing key and passwords: a value generated once and kept by later upgrades).

`aws-secret`: the Secret `<release>-aws` holding AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, which
`values` names for CloudWatch and for the backup's S3 (the chart reads AWS keys from a Secret, never
from values). Prints nothing when the keys are not both set.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

# GitHub secret -> value paths in helm/values.yaml.
SECRET_VALUES = {
    "GOOGLE_CLIENT_ID": ("googleOAuth.clientId",),
    "GOOGLE_CLIENT_SECRET": ("googleOAuth.clientSecret",),
    "JWT_SIGNING_KEY": ("secrets.jwtSigningKey",),
    "JWT_PREVIOUS_PUBLIC_KEYS": ("secrets.jwtPreviousPublicKeys",),
    "GRAFANA_ADMIN_PASSWORD": ("monitoring.grafana.adminPassword",),
    "AWS_REGION": ("monitoring.cloudwatch.region", "backup.s3.region"),
}
AWS_KEYS = {"AWS_ACCESS_KEY_ID": "aws-access-key-id", "AWS_SECRET_ACCESS_KEY": "aws-secret-access-key"}
# The parts of the chart that use AWS: each takes `existingSecret` and `secretKeys`.
AWS_USERS = ("monitoring.cloudwatch", "backup.s3")


def _set(values: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = values
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value


def has_aws_keys(environ: Mapping[str, str]) -> bool:
    return all(environ.get(variable) for variable in AWS_KEYS)


def aws_secret_name(release: str) -> str:
    return f"{release}-aws"


def secret_values(environ: Mapping[str, str], release: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for variable, paths in SECRET_VALUES.items():
        if environ.get(variable):
            for path in paths:
                _set(values, path, environ[variable])
    if has_aws_keys(environ):
        for user in AWS_USERS:
            _set(values, f"{user}.existingSecret", aws_secret_name(release))
            _set(values, f"{user}.secretKeys.accessKeyId", AWS_KEYS["AWS_ACCESS_KEY_ID"])
            _set(values, f"{user}.secretKeys.secretAccessKey", AWS_KEYS["AWS_SECRET_ACCESS_KEY"])
    return values


def aws_secret(environ: Mapping[str, str], release: str, namespace: str) -> dict[str, Any] | None:
    if not has_aws_keys(environ):
        return None
    data = {key: base64.b64encode(environ[variable].encode()).decode() for variable, key in AWS_KEYS.items()}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": aws_secret_name(release),
            "namespace": namespace,
            "labels": {"app.kubernetes.io/instance": release, "app.kubernetes.io/managed-by": "cicd"},
        },
        "data": data,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("values", "aws-secret"))
    parser.add_argument("--release", required=True)
    parser.add_argument("--namespace", default="default")
    args = parser.parse_args(argv)
    if args.what == "values":
        document: dict[str, Any] | None = secret_values(os.environ, args.release)
    else:
        document = aws_secret(os.environ, args.release, args.namespace)
    if document is not None:
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
