from config_lines import config_lines


def test_comment_line():
    assert config_lines("# note\nkey=1") == ["key=1"]


def test_blank():
    assert config_lines("\n\na=2\n") == ["a=2"]
