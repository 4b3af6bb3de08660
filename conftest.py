# Notebooks under test fixtures are data for the tests, not tests themselves.
collect_ignore_glob = ["tests/*/fixtures/*", "tests/fixtures/*", "exercises/*", "solutions/*"]
