from __future__ import annotations

import pickle

import pytest

from watermark.errors import ConfigurationError, UnknownKey
from watermark.keys import KeyRing, Secret, keyring_from_toml, new_keyring_toml

RING = """
active = "b"
[[keys]]
id = "a"
scheme = "kgw"
secret = "alpha-secret"
gamma = 0.5

[[keys]]
id = "b"
scheme = "kgw"
secret_env = "ASSAY_TEST_KEY_B"

[[keys]]
id = "hf"
scheme = "kgw-transformers"
hashing_key = 15485863
seeding_scheme = "selfhash"
"""


def test_parses_inline_env_and_transformers_keys() -> None:
    ring = keyring_from_toml(RING, environ={"ASSAY_TEST_KEY_B": "bravo-secret"})
    assert [k.key_id for k in ring] == ["a", "b", "hf"]
    assert ring.active.key_id == "b"
    assert ring.get("a").params == {"gamma": 0.5}
    assert ring.get("b").secret.reveal() == b"bravo-secret"
    assert ring.get("hf").secret.reveal() == b"15485863"
    assert dict(ring.get("hf").params) == {"seeding_scheme": "selfhash"}


def test_secret_never_shows() -> None:
    ring = keyring_from_toml(RING, environ={"ASSAY_TEST_KEY_B": "bravo-secret"})
    shown = repr(ring) + str(list(ring)) + repr(ring.get("a")) + str(ring.get("b").secret)
    for secret in ("alpha-secret", "bravo-secret", "15485863"):
        assert secret not in shown
    with pytest.raises(TypeError):
        pickle.dumps(ring.get("a").secret)


def test_missing_env_variable_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match="ASSAY_TEST_KEY_B"):
        keyring_from_toml(RING, environ={})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not toml [[", "not valid TOML"),
        ("x = 1", "no \\[\\[keys\\]\\]"),
        ('[[keys]]\nid = "a"\nscheme = "kgw"', "exactly one of"),
        ('[[keys]]\nid = "a"\nscheme = "kgw"\nsecret = "x"\nsecret_env = "Y"', "exactly one of"),
        ('[[keys]]\nid = "bad id!"\nscheme = "kgw"\nsecret = "x"', "key id"),
        ('active = "zz"\n[[keys]]\nid = "a"\nscheme = "kgw"\nsecret = "x"', "not in the key ring"),
        (
            '[[keys]]\nid = "a"\nscheme = "kgw"\nsecret = "x"\n[[keys]]\nid = "a"\nscheme = "kgw"\nsecret = "y"',
            "duplicate",
        ),
    ],
)
def test_invalid_rings_are_rejected(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        keyring_from_toml(text, environ={})


def test_active_defaults_to_flag_then_last_key() -> None:
    two = '[[keys]]\nid = "a"\nscheme = "kgw"\nsecret = "x"\n[[keys]]\nid = "b"\nscheme = "kgw"\nsecret = "y"\n'
    assert keyring_from_toml(two, environ={}).active.key_id == "b"
    flagged = two.replace('id = "a"', 'id = "a"\nactive = true')
    assert keyring_from_toml(flagged, environ={}).active.key_id == "a"


def test_unknown_key_id() -> None:
    ring = keyring_from_toml(RING, environ={"ASSAY_TEST_KEY_B": "x"})
    with pytest.raises(UnknownKey, match="nope"):
        ring.get("nope")


def test_new_keyring_round_trip_has_fresh_secrets() -> None:
    r1 = keyring_from_toml(new_keyring_toml("k1", context_width=4), environ={})
    r2 = keyring_from_toml(new_keyring_toml("k1"), environ={})
    assert r1.active.key_id == "k1" and r1.active.params == {"context_width": 4}
    assert len(r1.active.secret.reveal()) == 64
    assert r1.active.secret != r2.active.secret


def test_secret_rejects_empty() -> None:
    with pytest.raises(ConfigurationError):
        Secret(b"")
    with pytest.raises(ConfigurationError):
        KeyRing([])
