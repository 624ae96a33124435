import json
import threading
import uuid
from urllib.parse import quote, quote_plus

from osiris.masking import MASK, Masker, url_password

SECRET = "p@ss:w/rd%"


def test_masks_raw_url_encoded_and_json_escaped_forms():
    masker = Masker([SECRET, 'quo"te\\back'])
    text = " | ".join(
        [
            SECRET,
            quote(SECRET, safe=""),
            quote(SECRET),
            quote_plus(SECRET),
            json.dumps({"pw": 'quo"te\\back'}),
        ]
    )
    masked = masker.mask(text)
    assert masked == " | ".join([MASK, MASK, MASK, MASK, '{"pw": "***"}'])


def test_longest_secret_first_so_overlaps_mask_fully():
    masker = Masker(["secret", "secret-extended"])
    assert masker.mask("x secret-extended y secret") == "x *** y ***"


def test_url_userinfo_password_is_masked_even_if_unknown():
    masker = Masker()
    assert masker.mask("mysql://ada:hunter22@db:3306/x") == "mysql://ada:***@db:3306/x"
    assert masker.mask("postgresql://u:p%40ss@h/db?x=1") == "postgresql://u:***@h/db?x=1"
    assert masker.mask("raw mysql://u:p@ss@h/db") == "raw mysql://u:***@h/db"
    assert masker.mask("https://example.com:8443/path@x") == "https://example.com:8443/path@x"
    assert masker.mask("mysql://ada@db/x") == "mysql://ada@db/x"
    assert url_password("mysql://u:pw@h") == "pw"
    assert url_password("no url here") is None


def test_ids_hashes_and_run_ids_are_never_masked():
    masker = Masker([SECRET, "tok-9f8e7d6c5b4a", "hunter22"], ["password", "token"])
    session = "run_20261122T041500Z_3f9a1c"
    digest = "sha256:" + "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    run_id = str(uuid.UUID(int=0x1234))
    text = f"session {session} fp {digest} run {run_id} step extract_movies"
    assert masker.mask(text) == text
    event = {"session": session, "fingerprint": digest, "run_id": run_id, "rows": 5}
    assert masker.mask_obj(event) == event


def test_mask_obj_masks_secret_fields_by_name_and_values_everywhere():
    masker = Masker(["hunter22"], ["Password"])
    obj = {
        "password": "short",
        "PASSWORD": "x",
        "nested": [{"password": "y", "note": "uses hunter22"}],
        "empty": {"password": ""},
        "count": 3,
    }
    assert masker.mask_obj(obj) == {
        "password": MASK,
        "PASSWORD": MASK,
        "nested": [{"password": MASK, "note": "uses ***"}],
        "empty": {"password": ""},
        "count": 3,
    }


def test_mask_values_ignores_field_names():
    masker = Masker(["hunter22"], ["key", "password"])
    data = {"key": "PRI", "password": "bcrypt-hash", "note": ["hunter22 here"]}
    assert masker.mask_values(data) == {
        "key": "PRI",
        "password": "bcrypt-hash",
        "note": ["*** here"],
    }


def test_short_values_and_non_strings_are_not_registered():
    masker = Masker(["ab", None, True, 12345])
    assert masker.mask("ab 12345 True") == "ab *** True"


def test_concurrent_registration_and_masking():
    masker = Masker()
    errors = []

    def register(n):
        try:
            for i in range(300):
                masker.add_secrets([f"secret-{n}-{i}"])
                masker.mask(f"x secret-{n}-{i} y")
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert masker.mask("secret-3-299") == MASK


def test_snapshot_and_restore_forget_what_was_added_since():
    masker = Masker(["keep-this-secret"])
    saved = masker.snapshot()
    masker.add_secrets(["abc"])
    assert masker.mask("abc keep-this-secret") == "*** ***"
    masker.restore(saved)
    assert masker.mask("abc keep-this-secret") == "abc ***"
