"""spec.md parsing and how tasks link to its checklist items (core/spec.py)."""

from oompa_lsp.core.spec import link_tasks, parse_spec, slug

SPEC = """# Product

Some prose that is not an item.

## Accounts
- [ ] Add a `/login` page {#login}
  with a second line that belongs to the item
- [x] Write **docs** for new users
* [ ] Rate-limit password resets to five per hour
1. [ ] Numbered item

```markdown
- [ ] an example inside a code block, not an item
```
- [X] Upper-case mark counts as ticked
"""


def test_items_have_text_line_ranges_state_and_heading():
    items = parse_spec(SPEC).items
    assert [i.text for i in items] == [
        "Add a `/login` page", "Write **docs** for new users",
        "Rate-limit password resets to five per hour", "Numbered item", "Upper-case mark counts as ticked"]
    first = items[0]
    assert (first.line, first.end_line, first.checked, first.anchor, first.heading) == (5, 6, False, "login", "Accounts")
    assert [i.checked for i in items] == [False, True, False, False, True]
    assert SPEC.splitlines()[first.line][first.box_character] == " "  # the space that becomes x when ticked


def test_code_blocks_hold_no_items():
    assert all("example" not in item.text for item in parse_spec(SPEC).items)


def test_item_at_line_covers_continuation_lines_only():
    document = parse_spec(SPEC)
    assert document.item_at_line(6).text == "Add a `/login` page"
    assert document.item_at_line(2) is None


def test_tasks_link_by_anchor_text_or_unique_prefix():
    document = parse_spec(SPEC)
    links = link_tasks(document, [
        ("t-anchor", "login"), ("t-path", "spec.md#login"),
        ("t-text", "write docs for new users"), ("t-checkbox", "- [ ] Numbered item"),
        ("t-prefix", "Rate-limit password resets"), ("t-short", "Rate"),
        ("t-unknown", "something else entirely"), ("t-none", None)])
    assert links.by_item[0] == ["t-anchor", "t-path"]
    assert links.item_of_task["t-text"] == 1
    assert links.item_of_task["t-checkbox"] == 3
    assert links.item_of_task["t-prefix"] == 2
    assert set(links.unmatched) == {"t-short", "t-unknown"}
    assert "t-none" not in links.item_of_task


def test_ambiguous_prefix_links_nowhere():
    document = parse_spec("- [ ] Support export to CSV\n- [ ] Support export to JSON\n")
    assert link_tasks(document, [("t", "support export to")]).unmatched == ["t"]


def test_slug_ignores_case_punctuation_and_markup():
    assert slug("Add a **/login** page!") == slug("add a `/login` page") == "add-a-login-page"


def test_every_one_of_two_thousand_items_finds_its_task():
    text = "\n".join(f"- [ ] Item number {n} of the big spec" for n in range(2000))
    links = link_tasks(parse_spec(text), [(f"t{n}", f"Item number {n} of the big spec") for n in range(2000)])
    assert all(links.item_of_task[f"t{n}"] == n for n in range(2000))
