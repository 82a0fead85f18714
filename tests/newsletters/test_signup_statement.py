"""The PostgreSQL signup statement stays one psycopg can keep parsed between signups."""

from psycopg import _queries

from newsletters import signup_statement


def test_signup_statements_fit_psycopgs_parsed_query_cache():
    # Past this length psycopg parses the placeholders again on every execute (~8 % of a
    # signup's CPU); newsletters/signup_statement.py puts each statement on one line for it.
    limit = _queries.MAX_CACHED_STATEMENT_LENGTH
    assert len(signup_statement._SIGNUP.encode()) <= limit
    assert len(signup_statement._UPSERT_SUBSCRIBER.encode()) <= limit


def test_one_line_keeps_literals_and_words_apart():
    statement = "SELECT 'a  b',\n    x\nFROM t\n  WHERE y = ' '\n"
    assert signup_statement._one_line(statement) == "SELECT 'a  b', x FROM t WHERE y = ' '"
