"""The reference docs are generated from the declarations and committed up to date."""
from nbafs import docs


def test_committed_docs_match_the_declarations():
    for path, text in docs.generated().items():
        assert path.exists(), f"{path} missing: run `nbafs docs`"
        assert path.read_text() == text, f"{path} is out of date: run `nbafs docs`"


def test_feature_doc_lists_every_service_in_order_with_usage_spike_at_8():
    text = docs.features_markdown()
    sections = text.split("\n## `")[1:]
    assert [s.split("`", 1)[0] for s in sections] == list(docs.catalog.SERVICES)
    for section, order in zip(sections, docs.catalog.SERVICES.values()):
        rows = [line for line in section.splitlines() if line.startswith("| ") and line[2].isdigit()]
        assert [r.split("`")[1] for r in rows] == list(order)
    points = sections[0]
    assert "| 8 | `usage_spike_score` |" in points
