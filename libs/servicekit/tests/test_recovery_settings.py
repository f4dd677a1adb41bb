"""The settings behind recovery in seconds: consumer group membership and the leader lock's session."""

from __future__ import annotations

import pytest

from servicekit.consumer import ConsumerConfig
from servicekit.leader import LeaderConfig
from servicekit.settings import ConfigError, Env


def consumer_config(**environ: str) -> ConsumerConfig:
    return ConsumerConfig.from_env(Env(environ))


def test_consumer_defaults_notice_a_dead_member_within_15_s() -> None:
    config = consumer_config()
    assert config.session_timeout_ms <= 15_000 and config.heartbeat_interval_ms * 3 <= config.session_timeout_ms
    assert config.group_instance_id is None  # outside Kubernetes: dynamic, so two local consumers never fence


def test_in_kubernetes_the_pod_name_is_the_static_member_id() -> None:
    pod = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "HOSTNAME": "reservation-consumer-7d9f-x2x"}
    assert consumer_config(**pod).group_instance_id == "reservation-consumer-7d9f-x2x"
    assert consumer_config(**pod, CONSUMER_GROUP_INSTANCE_ID="none").group_instance_id is None
    assert consumer_config(HOSTNAME="laptop").group_instance_id is None


def test_an_explicit_instance_id_is_made_valid_for_kafka() -> None:
    assert consumer_config(CONSUMER_GROUP_INSTANCE_ID="host:consumer/1").group_instance_id == "host-consumer-1"
    assert len(consumer_config(CONSUMER_GROUP_INSTANCE_ID="x" * 300).group_instance_id or "") == 249


def test_heartbeats_must_fit_three_times_into_the_session() -> None:
    with pytest.raises(ConfigError, match="third"):
        consumer_config(CONSUMER_SESSION_TIMEOUT_MS="6000", CONSUMER_HEARTBEAT_INTERVAL_MS="3000")


def test_leader_session_options_end_a_silent_or_idle_holder_within_dead_after() -> None:
    config = LeaderConfig.from_env(Env({"LEADER_DEAD_AFTER_SECONDS": "12"}))
    options = dict(item.split("=") for item in config.server_options().replace("-c ", "").split())
    keepalive_s = int(options["tcp_keepalives_idle"]) + int(options["tcp_keepalives_interval"]) * int(
        options["tcp_keepalives_count"]
    )
    assert keepalive_s <= 12
    assert options["idle_session_timeout"] == options["tcp_user_timeout"] == "12000"
    with pytest.raises(ConfigError):
        LeaderConfig.from_env(Env({"LEADER_DEAD_AFTER_SECONDS": "5", "LEADER_POLL_SECONDS": "5"}))
