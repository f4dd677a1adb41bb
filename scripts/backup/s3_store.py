"""The S3 copy of the backups: s3://<bucket>/<prefix>/YYYY-MM/DD/<file>, through boto3."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from failure import Failure
from names import TIMESTAMP_FORMAT, date_folder, is_expired, parse


class S3Failure(Failure):
    """An S3 problem, with a message that says what to check."""


@dataclass
class Store:
    bucket: str
    prefix: str
    endpoint_url: str | None
    region: str
    sse: str = "AES256"  # server-side encryption of every object: AES256 (SSE-S3) or aws:kms (SSE-KMS)
    kms_key_id: str = ""

    @classmethod
    def from_env(cls) -> Store:
        bucket = os.environ.get("S3_BUCKET_NAME", "")
        if not bucket:
            raise S3Failure("S3_BUCKET_NAME is not set (config/aws-config.sh or the environment)")
        return cls(
            bucket=bucket,
            prefix=os.environ.get("S3_PREFIX", "database-backups").strip("/"),
            endpoint_url=os.environ.get("S3_ENDPOINT_URL") or None,
            region=os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            sse=os.environ.get("S3_SSE") or "AES256",
            kms_key_id=os.environ.get("S3_SSE_KMS_KEY_ID", ""),
        )

    def __post_init__(self) -> None:
        if self.sse not in ("AES256", "aws:kms"):
            raise S3Failure(f"S3_SSE must be AES256 (SSE-S3) or aws:kms (SSE-KMS), not {self.sse!r}")
        config = Config(
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": int(os.environ.get("S3_MAX_ATTEMPTS", "3")), "mode": "standard"},
            s3={"addressing_style": "path"} if self.endpoint_url else {},
        )
        self.client: Any = boto3.client("s3", endpoint_url=self.endpoint_url, region_name=self.region, config=config)

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}/" + (f" at {self.endpoint_url}" if self.endpoint_url else "")

    def key(self, timestamp: str, name: str) -> str:
        return "/".join(part for part in (self.prefix, date_folder(timestamp), name) if part)

    def explain(self, error: Exception) -> S3Failure:
        """Turns a boto3 error into a message naming the likely cause."""
        if isinstance(error, NoCredentialsError):
            return S3Failure("no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
        if isinstance(error, ClientError):
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchBucket"):
                return S3Failure(f"bucket {self.bucket} does not exist ({self.where})")
            if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                return S3Failure(f"access to bucket {self.bucket} denied ({code}): check the credentials and policy")
            return S3Failure(f"S3 refused the request ({code}): {error}")
        if isinstance(error, BotoCoreError):
            return S3Failure(f"cannot reach S3 ({self.where}): {error}")
        return S3Failure(str(error))

    def check(self) -> list[str]:
        """Credentials and read access to the bucket and prefix; changes nothing."""
        report = []
        try:
            credentials = boto3.session.Session().get_credentials()
            if credentials is None:
                raise NoCredentialsError()
            report.append(f"credentials: access key ...{credentials.access_key[-4:]} ({credentials.method})")
            self.client.head_bucket(Bucket=self.bucket)
            report.append(f"bucket: {self.bucket} exists and is reachable")
            listing = self.client.list_objects_v2(Bucket=self.bucket, Prefix=f"{self.prefix}/", MaxKeys=1000)
        except (BotoCoreError, ClientError) as error:
            raise self.explain(error) from error
        count = listing.get("KeyCount", 0)
        more = "+" if listing.get("IsTruncated") else ""
        report.append(f"listing: {count}{more} object(s) under {self.prefix}/ (s3:ListBucket works)")
        return report

    def ensure_bucket(self) -> bool:
        """Creates the bucket if it is missing; True when it was created."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return False
        except ClientError as error:
            if str(error.response.get("Error", {}).get("Code")) not in ("404", "NoSuchBucket"):
                raise self.explain(error) from error
        except BotoCoreError as error:
            raise self.explain(error) from error
        arguments: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self.client.create_bucket(**arguments)
        except (BotoCoreError, ClientError) as error:
            raise self.explain(error) from error
        return True

    def upload(self, path: Path, timestamp: str) -> str:
        """Uploads one file, encrypted, with its SHA-256 in the object's metadata, then checks what S3 holds."""
        key = self.key(timestamp, path.name)
        digest = sha256_of(path)
        extra: dict[str, Any] = {"Metadata": {"sha256": digest}, "ServerSideEncryption": self.sse}
        if self.sse == "aws:kms" and self.kms_key_id:
            extra["SSEKMSKeyId"] = self.kms_key_id
        try:
            self.client.upload_file(str(path), self.bucket, key, ExtraArgs=extra)
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as error:
            raise self.explain(error) from error
        if head["ContentLength"] != path.stat().st_size or head.get("Metadata", {}).get("sha256") != digest:
            raise S3Failure(f"s3://{self.bucket}/{key} does not match {path} after upload")
        if head.get("ServerSideEncryption") != self.sse:
            raise S3Failure(f"s3://{self.bucket}/{key} is not stored with {self.sse} encryption")
        return key

    def objects(self) -> Iterator[tuple[str, datetime]]:
        """Every backup object under the prefix, with its timestamp; other objects are ignored."""
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{self.prefix}/" if self.prefix else ""):
                for item in page.get("Contents", []):
                    parsed = parse(item["Key"].rsplit("/", 1)[-1])
                    if parsed is not None:
                        yield item["Key"], parsed[1]
        except (BotoCoreError, ClientError) as error:
            raise self.explain(error) from error

    def prune(self, days: int, now: datetime) -> list[str]:
        expired = [key for key, _ in self.objects() if is_expired(key.rsplit("/", 1)[-1], days, now)]
        try:
            for start in range(0, len(expired), 1000):
                batch = [{"Key": key} for key in expired[start : start + 1000]]
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
        except (BotoCoreError, ClientError) as error:
            raise self.explain(error) from error
        return expired

    def latest(self, kind: str, timestamp: str | None) -> str:
        """The key of the newest backup of `kind` (or the one taken at `timestamp`)."""
        found = [
            (when, key)
            for key, when in self.objects()
            if parse(key.rsplit("/", 1)[-1]) == (kind, when)
            and (timestamp is None or when.strftime(TIMESTAMP_FORMAT) == timestamp)
        ]
        if not found:
            at = f" taken at {timestamp}" if timestamp else ""
            raise S3Failure(f"no {kind} backup{at} under s3://{self.bucket}/{self.prefix}/")
        return max(found)[1]

    def download(self, key: str, destination: Path) -> None:
        try:
            self.client.download_file(self.bucket, key, str(destination))
        except (BotoCoreError, ClientError) as error:
            raise self.explain(error) from error


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
