from config_lines import config_lines


def test_indented_comment():
    assert config_lines("   # x\nb=3") == ["b=3"]


def test_hash_inside_value():
    assert config_lines("color=#fff") == ["color=#fff"]
