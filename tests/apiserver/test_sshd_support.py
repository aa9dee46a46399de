"""The SSH test harness itself: without sshd the tests skip with the reason, and fail under CI."""

import pytest
from support import sshd


def test_missing_sshd_fails_under_ci(monkeypatch):
    monkeypatch.setattr(sshd, "SSHD", "/nonexistent/sshd")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="OpenSSH is not installed .*/nonexistent/sshd"):
        sshd.start_sshd()


def test_missing_sshd_skips_elsewhere(monkeypatch):
    monkeypatch.setattr(sshd, "SSHD", "/nonexistent/sshd")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install openssh-server"):
        sshd.start_sshd()


def test_sshd_logs_in_as_root(ssh_server):
    assert ssh_server.ssh("root", "id -u").stdout.strip() == "0"
