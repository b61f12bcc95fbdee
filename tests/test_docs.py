"""The reference docs are generated from the declarations and committed up to date."""
from nbafs import docs


def test_committed_docs_match_the_declarations():
    for path, text in docs.generated().items():
        assert path.exists(), f"{path} missing: run `nbafs docs`"
        assert path.read_text() == text, f"{path} is out of date: run `nbafs docs`"


def test_feature_doc_lists_the_service_in_order_with_usage_spike_at_8():
    text = docs.features_markdown()
    assert "| 8 | `usage_spike_score` |" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == len(docs.catalog.PLAYER_POINTS_V1)
