"""The scorer's CSV reader: every rule on small known inputs, and block independence."""

from __future__ import annotations

import numpy as np
import pytest

from ids_utils import flowcsv
from ids_utils.schema import DataError

FEATURES = ("a", "b", "c")
MEAN = np.array([1.0, 0.0, 10.0])
SCALE = np.array([2.0, 1.0, 5.0])


def header(text="a,b,c,label_multiclass"):
    return flowcsv.parse_header(text.encode(), FEATURES, "f.csv")


def parse(*rows, head=None, first_line=2):
    return flowcsv.parse_block(
        [r.encode() if isinstance(r, str) else r for r in rows],
        first_line,
        head or header(),
        MEAN,
        SCALE,
    )


def test_header_locates_features_in_any_order_and_finds_the_label():
    h = header("label_multiclass,c,x,a,b")
    assert h.positions == (3, 4, 1) and h.label_column == "label_multiclass" and h.label_at == 0


def test_header_drops_a_byte_order_mark_and_a_carriage_return():
    assert header("\ufeffa,b,c\r").columns == ("a", "b", "c")


@pytest.mark.parametrize(
    "text, fragment, column",
    [
        ("a,b,b,c", "repeats column name(s) b", "b"),
        ("a,b", "lacks 1 feature(s) the model needs: c", "c"),
        ("", "header line is empty", None),
    ],
)
def test_bad_headers_are_refused_naming_the_column(text, fragment, column):
    with pytest.raises(DataError, match=fragment.replace("(", r"\(").replace(")", r"\)")) as info:
        header(text)
    assert info.value.column == column and info.value.line == 1


def test_a_header_that_is_not_utf8_is_refused():
    with pytest.raises(DataError, match="not UTF-8"):
        flowcsv.parse_header(b"a,\xff,c", FEATURES, "f.csv")


def test_good_rows_are_scaled_with_the_detectors_scaler():
    block = parse("3,4,20,Benign", "1,0,10,DDoS")
    np.testing.assert_array_equal(block.x, np.array([[1, 4, 2], [0, 0, 0]], dtype="float32"))
    assert block.problem == [None, None] and block.family == ["Benign", "DDoS"]
    assert block.line.tolist() == [2, 3]


@pytest.mark.parametrize(
    "row, column, problem",
    [
        ("1,,3,Benign", "b", "empty value"),
        ("1,x,3,Benign", "b", "non-numeric value 'x'"),
        ("1,nan,3,Benign", "b", "non-finite value nan"),
        ("1,inf,3,Benign", "b", "non-finite value inf"),
        ("-inf,2,3,Benign", "a", "non-finite value -inf"),
        ("1,2,1e400,Benign", "c", "non-finite value inf"),
        ("1e308,2,3,Benign", "a", "value 1e+308 is out of range once scaled"),
        ("1,2,3", None, "expected 4 fields, found 3"),
        ("1,2,3,4,Benign", None, "expected 4 fields, found 5"),
        ("1,2,3,Zzz", "label_multiclass", "unknown label 'Zzz'"),
        (b"1,2,\xff3,Benign", None, "not UTF-8 text"),
    ],
)
def test_a_row_that_cannot_be_scored_says_why(row, column, problem):
    block = parse("1,2,3,Benign", row, "1,2,3,Benign")
    assert block.problem == [None, problem, None] and block.column[1] == column
    assert block.valid.tolist() == [True, False, True]
    assert (block.x[1] == 0).all()  # never a stale or partial value


def test_blank_lines_are_counted_not_scored_and_line_numbers_hold():
    block = parse("1,2,3,Benign", "", "  ", "4,5,6,Benign", first_line=10)
    assert block.blank == 2 and block.line.tolist() == [10, 13]


def test_quoted_fields_and_crlf_read_like_plain_ones():
    plain = parse("1,2,3,Benign")
    quoted = parse('"1","2",3,"Benign"\r')
    np.testing.assert_array_equal(plain.x, quoted.x)
    assert quoted.problem == [None] and quoted.family == ["Benign"]
    comma_inside_quotes = parse('"1,5",2,3,Benign')  # one field, and not a number
    assert comma_inside_quotes.column == ["a"]
    assert comma_inside_quotes.problem == ["non-numeric value '1,5'"]


def test_a_rows_fate_does_not_depend_on_its_neighbours():
    rng = np.random.default_rng(0)
    good = [",".join(f"{v:.6g}" for v in rng.normal(size=3)) + ",Benign" for _ in range(50)]
    alone = parse(*good)
    rows = list(good)
    for position in (0, 17, 49):
        rows[position] = "1,oops,3,Benign"
    mixed = parse(*rows)
    ok = [i for i in range(50) if i not in (0, 17, 49)]
    np.testing.assert_array_equal(mixed.x[ok], alone.x[ok])
    assert [i for i, p in enumerate(mixed.problem) if p] == [0, 17, 49]


def test_original_release_labels_map_to_families():
    h = header("a,b,c,label")
    block = parse("1,2,3,BenignTraffic", "1,2,3,DDoS-ICMP_Flood", head=h)
    assert block.family == ["Benign", "DDoS"]
    assert [flowcsv.is_attack(f) for f in block.family] == [0, 1]


def test_header_errors_name_line_one_and_say_exactly_what_is_wrong():
    from ids_utils.schema import MERGED_FEATURES, ORIGINAL_FEATURES

    with pytest.raises(DataError) as info:
        flowcsv.parse_header(b"a,\xff,c", FEATURES, "f.csv")
    assert str(info.value) == "f.csv, line 1: the header is not UTF-8 text"
    with pytest.raises(DataError) as info:
        header("")
    assert str(info.value) == "f.csv, line 1: the header line is empty (no column names)"
    with pytest.raises(DataError) as info:
        header("a,b,b,c,c")
    assert info.value.problem == "the header repeats column name(s) b, c"
    with pytest.raises(DataError) as info:  # a header of the other release says which it is
        flowcsv.parse_header(",".join(ORIGINAL_FEATURES), MERGED_FEATURES, "f.csv")
    assert info.value.problem == (
        "the header lacks 2 feature(s) the model needs: Time_To_Live, "
        "IGMP (the header is ciciot2023-original; the model expects 39 "
        "features)"
    )


def test_an_unquoted_row_ending_in_a_carriage_return_keeps_its_label():
    block = parse("1,2,3,Benign\r", "1,2,3,DDoS\r")
    assert block.problem == [None, None] and block.family == ["Benign", "DDoS"]


def test_an_unlabelled_header_gives_no_families():
    block = parse("1,2,3", head=header("a,b,c"))
    assert block.family is None and block.problem == [None]


@pytest.mark.filterwarnings("error")
def test_overflowing_and_infinite_values_raise_no_warning():
    block = parse("1e308,2,3,Benign", "1,inf,3,Benign", "-inf,2,3,Benign", "1,2,3,Benign")
    assert block.valid.tolist() == [False, False, False, True]


def test_a_hash_is_a_character_not_a_comment():
    block = parse("1,#2,3,Benign", "1,2,3,Benign")
    assert block.problem == ["non-numeric value '#2'", None] and block.column == ["b", None]


def test_a_number_python_reads_but_numpy_does_not_is_unreadable():
    # float("1_000") is 1000.0 in Python; NumPy's parser refuses it, and so does the reader.
    block = parse("1_000,2,3,Benign")
    assert block.problem == ["unreadable numbers"] and block.column == [None]


@pytest.mark.parametrize(
    "n_missing, listed", [(5, "d1, d2, d3, d4, d5"), (6, "d1, d2, d3, d4, d5...")]
)
def test_a_long_list_of_missing_features_is_cut_after_five(n_missing, listed):
    features = ("a", *(f"d{i}" for i in range(1, n_missing + 1)))
    with pytest.raises(DataError) as info:
        flowcsv.parse_header(b"a,b", features, "f.csv")
    # A header of no known release says nothing more.
    assert info.value.problem == (
        f"the header lacks {n_missing} feature(s) the model needs: {listed}"
    )
    assert info.value.column == "d1"


def test_only_the_line_break_is_cut_from_a_header_or_a_row():
    # Spaces and other characters at the end are data: a column "note " is not "note", a
    # label "Benign " is not a known label, "3X" is not a number.
    assert header("a,b,c,noteX").columns[-1] == "noteX"
    assert header("a,b,c,note \r").columns[-1] == "note "
    assert parse("1,2,3,Benign ").problem == ["unknown label 'Benign '"]
    assert parse("1,2,3X", head=header("a,b,c")).problem == ["non-numeric value '3X'"]


def test_a_hash_in_a_column_the_model_does_not_read_changes_nothing():
    block = parse("#x,1,2,3", head=header("note,a,b,c"))
    assert block.problem == [None]
    np.testing.assert_allclose(block.x, [[0.0, 2.0, -1.4]])
