"""Reading import files: encodings, delimiters, quoting and the lines problems point at."""

from __future__ import annotations

from application.bulk_import import MAX_ROWS, parse_csv

CUSTOMERS = "customer_id,name\nC1,Anna\nC2,Bert\n"


def test_a_plain_file_gives_one_row_per_record_with_the_header_on_line_1() -> None:
    parsed = parse_csv("customer", CUSTOMERS)

    assert parsed.problems == []
    assert parsed.columns == ["customer_id", "name"]
    assert [(row.line, row.values) for row in parsed.rows] == [
        (2, {"customer_id": "C1", "name": "Anna"}),
        (3, {"customer_id": "C2", "name": "Bert"}),
    ]


def test_a_record_with_a_quoted_line_break_is_at_the_line_it_starts_on() -> None:
    text = (
        "customer_id,name,postal_address\n"
        'C1,Anna,"Lindenstraße 12\n10115 Berlin"\n'
        'C2,Bert,"c/o Müller\r\nMarktplatz 3\r\n80331 München"\n'
        "C3,Cora,\n"
    )

    parsed = parse_csv("customer", text)

    assert [row.line for row in parsed.rows] == [2, 4, 7]
    assert parsed.rows[0].values["postal_address"] == "Lindenstraße 12\n10115 Berlin"
    assert parsed.rows[1].values["postal_address"] == "c/o Müller\r\nMarktplatz 3\r\n80331 München"


def test_a_byte_order_mark_does_not_become_part_of_the_first_column_name() -> None:
    as_text = parse_csv("customer", "\ufeff" + CUSTOMERS)
    as_bytes = parse_csv("customer", b"\xef\xbb\xbf" + CUSTOMERS.encode())

    for parsed in (as_text, as_bytes):
        assert parsed.problems == []
        assert parsed.columns[0] == "customer_id"
        assert parsed.rows[0].values["customer_id"] == "C1"


def test_bytes_that_are_not_utf8_are_refused_at_the_line_they_occur_on() -> None:
    parsed = parse_csv("customer", "customer_id,name\nC1,Anna\nC2,Müller\n".encode("cp1252"))

    assert [(problem.line, problem.column) for problem in parsed.problems] == [(3, None)]
    assert "UTF-8" in parsed.problems[0].reason
    assert not parsed.complete


def test_semicolons_are_taken_as_the_delimiter_when_the_header_uses_them() -> None:
    parsed = parse_csv("meter", "serial;meter_type;ct_ratio\nM1;three-phase, CT;1,5\n")

    assert parsed.problems == []
    assert parsed.rows[0].values == {
        "serial": "M1",
        "meter_type": "three-phase, CT",
        "ct_ratio": "1,5",
    }


def test_the_delimiter_is_read_from_the_header_even_after_leading_blank_lines() -> None:
    parsed = parse_csv("customer", "\r\n\r\ncustomer_id;name\r\nC1;Anna\r\n")

    assert parsed.problems == []
    assert [(row.line, row.values) for row in parsed.rows] == [
        (4, {"customer_id": "C1", "name": "Anna"})
    ]


def test_commas_stay_the_delimiter_when_only_the_data_holds_semicolons() -> None:
    parsed = parse_csv("customer", "customer_id,name\nC1,Anna; Bert\n")

    assert parsed.rows[0].values == {"customer_id": "C1", "name": "Anna; Bert"}


def test_blank_lines_and_rows_of_bare_delimiters_are_skipped_without_shifting_lines() -> None:
    text = "customer_id,name\r\n\r\nC1,Anna\r\n,\r\nC2,Bert\r\n\r\n\r\n,,\r\n"

    parsed = parse_csv("customer", text)

    assert parsed.problems == []
    assert [(row.line, row.values["customer_id"]) for row in parsed.rows] == [(3, "C1"), (5, "C2")]


def test_an_unknown_column_is_reported_once_on_the_header_line() -> None:
    rows = "".join(f"C{n},Name {n},x\n" for n in range(20))

    parsed = parse_csv("customer", "customer_id,name,fax\n" + rows)

    assert [(problem.line, problem.column) for problem in parsed.problems] == [(1, "fax")]
    assert "not a column of customer files" in parsed.problems[0].reason
    assert len(parsed.rows) == 20


def test_a_missing_required_column_is_reported_once_on_the_header_line() -> None:
    parsed = parse_csv("customer", "customer_id,email\nC1,a@example.org\nC2,b@example.org\n")

    assert [(problem.line, problem.column) for problem in parsed.problems] == [(1, "name")]


def test_a_meter_file_with_a_template_column_needs_only_the_serial() -> None:
    parsed = parse_csv("meter", "serial,template\nM1,residential-lls\n")

    assert parsed.problems == []


def test_meter_secrets_are_columns_of_meter_files_only() -> None:
    meters = parse_csv("meter", "serial,meter_type,lls_password\nM1,single-phase,secret\n")
    customers = parse_csv("customer", "customer_id,name,lls_password\nC1,Anna,secret\n")

    assert meters.problems == []
    assert [problem.column for problem in customers.problems] == ["lls_password"]


def test_a_row_with_more_values_than_columns_is_reported_at_its_line() -> None:
    parsed = parse_csv("customer", "customer_id,name\nC1,Anna\nC2,Schmidt, Anna\n")

    assert [(problem.line, problem.column) for problem in parsed.problems] == [(3, None)]
    assert "3 values but the header names 2 columns" in parsed.problems[0].reason


def test_a_trailing_delimiter_on_every_line_is_tolerated() -> None:
    parsed = parse_csv("customer", "customer_id;name;\nC1;Anna;\n")

    assert parsed.problems == []
    assert parsed.rows[0].values == {"customer_id": "C1", "name": "Anna"}


def test_an_unclosed_quote_is_reported_where_its_record_starts_and_reading_stops() -> None:
    text = 'customer_id,name\nC1,Anna\nC2,"Bert\nC3,Cora\nC4,Dora\n'

    parsed = parse_csv("customer", text)

    assert [(problem.line, problem.column) for problem in parsed.problems] == [(3, None)]
    assert "check the quotes" in parsed.problems[0].reason
    assert not parsed.complete


def test_a_file_over_the_row_limit_is_refused_with_the_limit_in_the_message() -> None:
    rows = "".join(f"C{n},Name {n}\n" for n in range(4))

    at_limit = parse_csv("customer", "customer_id,name\n" + rows, max_rows=4)
    over_limit = parse_csv("customer", "customer_id,name\n" + rows + "C9,Nina\n", max_rows=4)

    assert at_limit.problems == []
    assert [problem.line for problem in over_limit.problems] == [6]
    assert "more than 4 rows" in over_limit.problems[0].reason
    assert not over_limit.complete
    assert MAX_ROWS == 100_000


def test_an_empty_file_is_refused() -> None:
    for text in ("", "\n\n", "\ufeff"):
        parsed = parse_csv("premise", text)

        assert [problem.line for problem in parsed.problems] == [1]
        assert "empty" in parsed.problems[0].reason


def test_a_kind_that_cannot_be_imported_is_refused() -> None:
    parsed = parse_csv("tou_schedule", "code,name\nT1,Peak\n")

    assert [problem.line for problem in parsed.problems] == [1]
    assert "cannot be imported" in parsed.problems[0].reason


def test_a_problem_reads_as_file_line_column_and_reason() -> None:
    parsed = parse_csv("service_point", "service_point_id,name,colour\n")

    assert str(parsed.problems[0]).startswith("service point file, line 1, colour: is not a column")
