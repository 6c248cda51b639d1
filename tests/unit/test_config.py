"""Production refuses to start without its secrets; development derives the sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from wallet import create_app
from wallet.config import Config, ConfigError, DevConfig, sdk_frame_origins, sdk_url
from wallet.crypto import TokenVault


def test_config_production_without_secrets_refuses_with_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WALLET_CONFIG", "production")
    monkeypatch.setenv("WALLET_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("WALLET_DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    with pytest.raises(ConfigError) as info:
        create_app()
    message = str(info.value)
    for name in (
        "WALLET_SECRET_KEY",
        "WALLET_VAULT_KEYS",
        "WALLET_TOSS_CLIENT_KEY",
        "WALLET_TOSS_SECRET_KEY",
    ):
        assert name in message


def test_config_production_with_secrets_starts_on_real_toss(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WALLET_CONFIG", "production")
    monkeypatch.setenv("WALLET_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("WALLET_DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    monkeypatch.setenv("WALLET_SECRET_KEY", "s" * 48)
    monkeypatch.setenv("WALLET_VAULT_KEYS", TokenVault.generate_spec("p1"))
    monkeypatch.setenv("WALLET_TOSS_CLIENT_KEY", "live_ck_example")
    monkeypatch.setenv("WALLET_TOSS_SECRET_KEY", "live_sk_example")
    app = create_app()
    assert app.config["TOSS_API_BASE"] == "https://api.tosspayments.com"
    assert app.config["SDK_URL"] == "https://js.tosspayments.com/v2/standard"
    # The real SDK's windows come from Toss's hosts (an iframe over our pages).
    assert app.config["SDK_FRAME_ORIGINS"] == (
        "https://js.tosspayments.com https://*.tosspayments.com https://*.toss.im"
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert "live_sk_example" not in repr(app.extensions["toss"])


def test_config_unknown_config_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WALLET_CONFIG", "staging")
    with pytest.raises(ConfigError):
        create_app()


def test_config_sdk_url_points_at_sandbox_shim_by_default() -> None:
    assert (
        sdk_url({"TOSS_API_BASE": "http://127.0.0.1:5001/"})
        == "http://127.0.0.1:5001/v2/standard"
    )
    assert (
        sdk_url({"TOSS_API_BASE": "https://api.tosspayments.com"})
        == "https://js.tosspayments.com/v2/standard"
    )
    assert (
        sdk_url({"TOSS_API_BASE": "x", "TOSS_SDK_URL": "https://cdn.example/sdk.js"})
        == "https://cdn.example/sdk.js"
    )


def test_config_development_defaults_use_doc_test_keys() -> None:
    assert DevConfig.TOSS_SECRET_KEY.startswith("test_sk_")
    assert Config.TOSS_SECRET_KEY is None


def test_config_sdk_frame_origins_sandbox_only_its_origin_or_override() -> None:
    config = {"TOSS_API_BASE": "http://127.0.0.1:5001"}
    assert sdk_frame_origins(config, "http://127.0.0.1:5001") == "http://127.0.0.1:5001"
    config["TOSS_FRAME_ORIGINS"] = "https://pay.example"
    assert sdk_frame_origins(config, "http://127.0.0.1:5001") == "https://pay.example"
