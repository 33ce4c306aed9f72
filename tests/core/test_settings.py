"""Settings: declared once with defaults and help, read from ESSAYS_* variables, and refused
with a fix-it message when a value cannot be used."""
from __future__ import annotations

import pytest

from core.errors import SettingsError
from core.settings import DEFAULT_INDEX, Settings, describe


def test_defaults_and_environment():
    s = Settings.from_env({})
    assert s == Settings() and s.top_k == 5 and s.index_folder() == DEFAULT_INDEX
    s = Settings.from_env({"ESSAYS_TOP_K": "8", "ESSAYS_ALLOW_UPLOADS": "yes", "ESSAYS_DIVERSITY": "0",
                           "ESSAYS_INDEX_DIR": "/srv/index", "ESSAYS_BASE_URL": "https://x.example/",
                           "PATH": "/bin"})
    assert (s.top_k, s.allow_uploads, s.diversity) == (8, True, 0.0)
    assert str(s.index_folder()) == "/srv/index" and s.base_url == "https://x.example/"
    assert Settings.from_env({"ESSAYS_TOP_K": "8"}, top_k=3).top_k == 3  # a flag beats the variable
    assert Settings.from_env({"ESSAYS_TOP_K": "8"}, top_k=None).top_k == 8


@pytest.mark.parametrize("variable,value,says", [
    ("ESSAYS_TOP_K", "five", "ESSAYS_TOP_K='five' is not a whole number"),
    ("ESSAYS_ALLOW_UPLOADS", "ture", "is not yes or no"),
    ("ESSAYS_DIVERSITY", "lots", "is not a number"),
    ("ESSAYS_TOP_K", "0", "top_k is 0; it must be between 1 and 100"),
    ("ESSAYS_DIVERSITY", "1.5", "between 0.0 and 1.0"),
    ("ESSAYS_BM25_WEIGHT", "-1", "at least 0.0"),
    ("ESSAYS_MIN_CHARS", "900", "min_chars (900) must be smaller than max_chars (550)"),
    ("ESSAYS_TOPK", "5", "ESSAYS_TOPK is not a setting. Did you mean ESSAYS_TOP_K?"),
    ("ESSAYS_WHATEVER", "1", "ESSAYS_WHATEVER is not a setting"),
])
def test_unusable_values_are_refused_with_a_fix(variable, value, says):
    with pytest.raises(SettingsError) as err:
        Settings.from_env({variable: value})
    assert says in str(err.value)


def test_wrong_types_in_code_are_refused_too():
    with pytest.raises(SettingsError, match="top_k must be a whole number"):
        Settings(top_k="5")
    assert Settings(dense_weight=1).dense_weight == 1.0 and isinstance(Settings(dense_weight=1).dense_weight, float)


def test_query_changes_refuse_index_settings_and_unknown_names():
    s = Settings()
    assert s.query_changes(diversity=0).diversity == 0
    with pytest.raises(SettingsError, match="changes the index"):
        s.query_changes(max_chars=300)
    with pytest.raises(SettingsError, match="not a setting"):
        s.query_changes(diversty=0)


def test_every_setting_has_help():
    names = [name for name, _, _ in describe()]
    assert "index_dir" in names and "base_url" in names
    assert all(len(text) > 20 for _, _, text in describe())
