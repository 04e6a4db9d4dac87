from datetime import date

from minka_registry.miners.csv_import import MAX_ROWS, MinerRow, RowProblem, parse_miner_csv
from minka_registry.miners.rules import Gender

REGISTERED_ON = date(2026, 11, 21)
HEADER = "full_name,gender,birth_date,national_id\n"


def test_valid_file():
    data = (
        HEADER
        + "Ana Quispe,female,1990-04-12,12345678\n"
        + "Juan Mamani,MALE,1985-12-01,\n"
        + "  Rosa  Condori ,Undisclosed , 2000-01-31 , X-9 \n"
    ).encode()
    rows, problems = parse_miner_csv(data, REGISTERED_ON)
    assert problems == []
    assert rows == [
        MinerRow(2, "Ana Quispe", Gender.FEMALE, date(1990, 4, 12), "12345678"),
        MinerRow(3, "Juan Mamani", Gender.MALE, date(1985, 12, 1), None),
        MinerRow(4, "Rosa Condori", Gender.UNDISCLOSED, date(2000, 1, 31), "X-9"),
    ]
    assert isinstance(rows[1].gender, Gender)


def test_str_input_and_crlf_and_blank_lines():
    data = HEADER.replace("\n", "\r\n") + "\r\nAna,female,1990-04-12,1\r\n\r\n,,,\r\nLuz,other,1991-01-01,2\r\n"
    rows, problems = parse_miner_csv(data, REGISTERED_ON)
    assert problems == []
    assert [(r.line, r.full_name) for r in rows] == [(3, "Ana"), (6, "Luz")]


def test_three_bad_rows_are_all_reported():
    data = (
        HEADER
        + "Ana,female,1990-04-12,1\n"  # line 2 ok
        + ",female,1990-04-12,2\n"  # line 3: empty name
        + "Juan,man,1990-04-12,3\n"  # line 4: bad gender
        + "Luz,other,1990-04-12,4\n"  # line 5 ok
        + "Niño,male,2012-03-04,5\n"  # line 6: under age
    ).encode()
    rows, problems = parse_miner_csv(data, REGISTERED_ON)
    assert [(p.line, p.field) for p in problems] == [
        (3, "full_name"),
        (4, "gender"),
        (6, "birth_date"),
    ]
    assert "female, male, other, undisclosed" in problems[1].reason
    assert problems[2].reason == "miner is 14 on 2026-11-21; Minka refuses workers under 18 (child labour)"
    assert [r.line for r in rows] == [2, 5]


def test_several_problems_in_one_row_and_other_checks():
    long_name = "a" * 201
    long_id = "9" * 65
    data = (
        HEADER
        + f"{long_name},robot,2026-11-22,{long_id}\n"  # line 2: name, gender, future, id
        + "Ana,female,12/04/1990,\n"  # line 3: not ISO
        + "Ana,female,1990-02-30,\n"  # line 4: impossible date
        + "Ana,female,19900412,\n"  # line 5: basic ISO format is refused
        + "Ana,female,,\n"  # line 6: empty date
        + "Ana,female,1990-04-12\n"  # line 7: too few cells
        + "Ana,female,1990-04-12,1,extra\n"  # line 8: too many cells
    )
    rows, problems = parse_miner_csv(data, REGISTERED_ON)
    assert rows == []
    assert [(p.line, p.field) for p in problems] == [
        (2, "full_name"),
        (2, "gender"),
        (2, "birth_date"),
        (2, "national_id"),
        (3, "birth_date"),
        (4, "birth_date"),
        (5, "birth_date"),
        (6, "birth_date"),
        (7, "row"),
        (8, "row"),
    ]
    assert problems[2].reason == "birth date is in the future"
    assert "201" in problems[0].reason
    assert "65" in problems[3].reason
    assert problems[8].reason == "expected 4 cells, found 3"


def test_control_characters_are_refused():
    data = HEADER + "An\x00a,female,1990-04-12,1\n" + 'Luz,other,1991-01-01,"A\nB"\n'
    rows, problems = parse_miner_csv(data, REGISTERED_ON)
    assert rows == []
    assert [(p.line, p.field) for p in problems] == [(2, "full_name"), (3, "national_id")]


def test_name_of_exactly_200_characters_is_accepted():
    rows, problems = parse_miner_csv(HEADER + "b" * 200 + ",male,1990-01-01,\n", REGISTERED_ON)
    assert problems == []
    assert len(rows[0].full_name) == 200


def test_quoted_multiline_name_shifts_line_numbers():
    data = (
        HEADER
        + "Ana,female,1990-04-12,1\n"  # line 2
        + '"Juan\nCarlos\nMamani",male,1985-12-01,2\n'  # lines 3-5
        + "Luz,other,1991-01-01,3\n"  # line 6
        + ",other,1991-01-01,4\n"  # line 7: bad
    ).encode()
    rows, problems = parse_miner_csv(data, REGISTERED_ON)
    assert [(r.line, r.full_name) for r in rows] == [(2, "Ana"), (3, "Juan Carlos Mamani"), (6, "Luz")]
    assert problems == [RowProblem(7, "full_name", "full_name is empty")]


def test_bom_header():
    data = b"\xef\xbb\xbf" + (HEADER + "Ana,female,1990-04-12,1\n").encode()
    rows, problems = parse_miner_csv(data, REGISTERED_ON)
    assert problems == []
    assert rows == [MinerRow(2, "Ana", Gender.FEMALE, date(1990, 4, 12), "1")]
    # Same with an already-decoded string.
    rows, problems = parse_miner_csv("\ufeff" + HEADER + "Ana,female,1990-04-12,1\n", REGISTERED_ON)
    assert problems == []
    assert len(rows) == 1


def test_column_order_swapped_and_whitespace_in_header():
    data = " national_id , birth_date,full_name ,gender\n77,1990-04-12,Ana Quispe,female\n"
    rows, problems = parse_miner_csv(data, REGISTERED_ON)
    assert problems == []
    assert rows == [MinerRow(2, "Ana Quispe", Gender.FEMALE, date(1990, 4, 12), "77")]


def test_missing_column():
    rows, problems = parse_miner_csv("full_name,gender,birth_date\nAna,female,1990-04-12\n", REGISTERED_ON)
    assert rows == []
    assert len(problems) == 1
    assert (problems[0].line, problems[0].field) == (1, "national_id")
    assert "missing" in problems[0].reason


def test_unknown_column():
    data = "full_name,gender,birth_date,national_id,phone\nAna,female,1990-04-12,1,555\n"
    rows, problems = parse_miner_csv(data, REGISTERED_ON)
    assert rows == []
    assert [(p.line, p.field) for p in problems] == [(1, "phone")]
    assert "unknown column" in problems[0].reason


def test_duplicate_column():
    data = "full_name,gender,birth_date,national_id,gender\n"
    _, problems = parse_miner_csv(data, REGISTERED_ON)
    assert [(p.line, p.field) for p in problems] == [(1, "gender")]


def test_duplicate_national_id():
    data = (
        HEADER
        + "Ana,female,1990-04-12,ID-1\n"  # line 2
        + "Luz,other,1991-01-01,ID-2\n"  # line 3
        + "Juan,male,1985-12-01,ID-1\n"  # line 4
        + "Rosa,female,1980-01-01,\n"  # line 5: empty ids are not duplicates
        + "Eva,female,1981-01-01,\n"  # line 6
    )
    rows, problems = parse_miner_csv(data, REGISTERED_ON)
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.line, problem.field) == (4, "national_id")
    assert "line 2" in problem.reason
    assert [r.line for r in rows] == [2, 3, 5, 6]


def test_invalid_utf8():
    data = HEADER.encode() + b"Jos\xe9,male,1990-01-01,1\n"  # latin-1 "José"
    rows, problems = parse_miner_csv(data, REGISTERED_ON)
    assert rows == []
    assert len(problems) == 1
    assert (problems[0].line, problems[0].field) == (1, "file")
    assert "UTF-8" in problems[0].reason


def test_header_only():
    assert parse_miner_csv(HEADER.encode(), REGISTERED_ON) == ([], [RowProblem(1, "file", "no rows")])
    assert parse_miner_csv(HEADER + "\n\n", REGISTERED_ON) == ([], [RowProblem(1, "file", "no rows")])


def test_empty_file():
    assert parse_miner_csv(b"", REGISTERED_ON) == ([], [RowProblem(1, "file", "no rows")])
    assert parse_miner_csv("\n  \n", REGISTERED_ON) == ([], [RowProblem(1, "file", "no rows")])


def test_unterminated_quote_is_reported():
    data = HEADER + "Ana,female,1990-04-12,1\n" + '"Juan,male,1985-12-01,2\nLuz,other,1991-01-01,3\n'
    rows, problems = parse_miner_csv(data, REGISTERED_ON)
    assert [(p.line, p.field) for p in problems] == [(3, "file")]
    assert "malformed CSV" in problems[0].reason


def _many_rows(n: int) -> str:
    lines = [HEADER]
    for i in range(n):
        lines.append(f"Miner {i},{('female', 'male', 'other')[i % 3]},19{50 + i % 50}-0{1 + i % 9}-1{i % 10},ID{i}\n")
    return "".join(lines)


def test_ten_thousand_rows():
    data = _many_rows(10_000).encode()
    rows, problems = parse_miner_csv(data, REGISTERED_ON)
    assert problems == []
    assert len(rows) == 10_000
    assert all(isinstance(r, MinerRow) for r in rows)
    assert rows[0].line == 2
    assert rows[-1].line == 10_001


def test_row_limit():
    rows, problems = parse_miner_csv(_many_rows(MAX_ROWS + 1), REGISTERED_ON)
    assert rows == []
    assert len(problems) == 1
    assert (problems[0].line, problems[0].field) == (1, "file")
    assert "50,000" in problems[0].reason


def test_row_limit_is_inclusive():
    rows, problems = parse_miner_csv(_many_rows(MAX_ROWS), REGISTERED_ON)
    assert problems == []
    assert len(rows) == MAX_ROWS
