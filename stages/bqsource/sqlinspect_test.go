package bqsource

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// This file holds a small GoogleSQL inspector for the tests: it finds the
// constructs that make BigQuery run a step on one worker or read a result
// through one stream. Matching text with strings.Contains would be fooled
// by a column named ORDER in backticks, a string literal holding
// "ORDER BY", or an OVER clause whose parentheses nest, so the SQL is
// tokenized first and parentheses are followed as a tree.

// tokenKind is what a token is to the inspector.
type tokenKind int

const (
	tokWord   tokenKind = iota // keyword or unquoted identifier
	tokQuoted                  // `quoted identifier`
	tokString                  // string or bytes literal
	tokNumber
	tokParam // @name or @@name
	tokOpen  // (
	tokClose // )
	tokOther // any other punctuation or operator
)

type token struct {
	kind tokenKind
	text string
	at   int // byte offset in the SQL
}

// is reports whether t is the keyword kw (case-insensitive); quoted
// identifiers and literals are never keywords.
func (t token) is(kw string) bool { return t.kind == tokWord && strings.EqualFold(t.text, kw) }

// tokenize splits GoogleSQL into tokens, dropping whitespace and comments
// (--, # and /* */). Strings may be single, double or triple quoted with
// backslash escapes; an r/b prefix is read as a word before the string,
// which the inspector does not mind.
func tokenize(sql string) ([]token, error) {
	var out []token
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#' || strings.HasPrefix(sql[i:], "--"):
			end := strings.IndexByte(sql[i:], '\n')
			if end < 0 {
				return out, nil
			}
			i += end + 1
		case strings.HasPrefix(sql[i:], "/*"):
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("unterminated comment at %d", i)
			}
			i += 2 + end + 2
		case c == '\'' || c == '"':
			end, err := stringEnd(sql, i)
			if err != nil {
				return nil, err
			}
			out = append(out, token{tokString, sql[i:end], i})
			i = end
		case c == '`':
			j := i + 1
			for j < len(sql) && sql[j] != '`' {
				if sql[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(sql) {
				return nil, fmt.Errorf("unterminated quoted identifier at %d", i)
			}
			out = append(out, token{tokQuoted, sql[i+1 : j], i})
			i = j + 1
		case isWordStart(c):
			j := i + 1
			for j < len(sql) && (isWordStart(sql[j]) || isDigit(sql[j])) {
				j++
			}
			out = append(out, token{tokWord, sql[i:j], i})
			i = j
		case isDigit(c) || (c == '.' && i+1 < len(sql) && isDigit(sql[i+1])):
			j := i + 1
			for j < len(sql) && (isDigit(sql[j]) || sql[j] == '.' || isWordStart(sql[j]) ||
				((sql[j] == '+' || sql[j] == '-') && (sql[j-1] == 'e' || sql[j-1] == 'E'))) {
				j++
			}
			out = append(out, token{tokNumber, sql[i:j], i})
			i = j
		case c == '@':
			j := i + 1
			for j < len(sql) && (sql[j] == '@' || isWordStart(sql[j]) || isDigit(sql[j])) {
				j++
			}
			out = append(out, token{tokParam, sql[i:j], i})
			i = j
		case c == '(':
			out = append(out, token{tokOpen, "(", i})
			i++
		case c == ')':
			out = append(out, token{tokClose, ")", i})
			i++
		default:
			out = append(out, token{tokOther, sql[i : i+1], i})
			i++
		}
	}
	return out, nil
}

// stringEnd is the offset just after the string literal starting at i.
func stringEnd(sql string, i int) (int, error) {
	q := sql[i : i+1]
	if strings.HasPrefix(sql[i:], q+q+q) {
		end := strings.Index(sql[i+3:], q+q+q)
		for end >= 0 && escaped(sql, i+3+end) {
			next := strings.Index(sql[i+3+end+1:], q+q+q)
			if next < 0 {
				end = -1
				break
			}
			end += 1 + next
		}
		if end < 0 {
			return 0, fmt.Errorf("unterminated string at %d", i)
		}
		return i + 3 + end + 3, nil
	}
	for j := i + 1; j < len(sql); j++ {
		switch sql[j] {
		case '\\':
			j++
		case '\n':
			return 0, fmt.Errorf("unterminated string at %d", i)
		case q[0]:
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated string at %d", i)
}

// escaped reports whether the byte at j follows an odd run of backslashes.
func escaped(sql string, j int) bool {
	n := 0
	for k := j - 1; k >= 0 && sql[k] == '\\'; k-- {
		n++
	}
	return n%2 == 1
}

func isWordStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isDigit(c byte) bool     { return c >= '0' && c <= '9' }

// Violations the inspector reports.
const (
	vWindowNoPartition = "window without PARTITION BY"
	vNamedWindow       = "named window (its PARTITION BY cannot be checked here)"
	vOrderBy           = "ORDER BY outside OVER (...) and a bounded ARRAY_AGG"
	vUnboundedArrayAgg = "ARRAY_AGG without LIMIT"
)

// violation is one construct that does not scale out, at a byte offset.
type violation struct {
	what string
	at   int
}

func (v violation) String() string { return fmt.Sprintf("%s at %d", v.what, v.at) }

// frame is one pair of parentheses being read.
type frame struct {
	kind      string // "over", "array_agg" or "" for any other
	at        int
	partition bool // PARTITION BY directly inside
	limit     bool // LIMIT directly inside
	orderBy   []int
}

// inspect lists the constructs of sql that keep BigQuery from spreading the
// work: a window without PARTITION BY (one worker sees every row), an ORDER
// BY anywhere but directly inside OVER (...) or inside an ARRAY_AGG (...)
// with a LIMIT (a sorted result is computed and read through one stream),
// and an ARRAY_AGG without LIMIT (an array of any size on one worker).
func inspect(sql string) ([]violation, error) {
	toks, err := tokenize(sql)
	if err != nil {
		return nil, err
	}
	var found []violation
	stack := []*frame{{at: -1}}
	closeFrame := func(f *frame) {
		switch f.kind {
		case "over":
			if !f.partition {
				found = append(found, violation{vWindowNoPartition, f.at})
			}
			return
		case "array_agg":
			if !f.limit {
				found = append(found, violation{vUnboundedArrayAgg, f.at})
			}
			if f.limit {
				return
			}
		}
		for _, at := range f.orderBy {
			found = append(found, violation{vOrderBy, at})
		}
	}
	for i, t := range toks {
		top := stack[len(stack)-1]
		var next token
		if i+1 < len(toks) {
			next = toks[i+1]
		}
		switch {
		case t.kind == tokOpen:
			f := &frame{at: t.at}
			if i > 0 && toks[i-1].is("OVER") {
				f.kind = "over"
			} else if i > 0 && toks[i-1].is("ARRAY_AGG") {
				f.kind, f.at = "array_agg", toks[i-1].at
			}
			stack = append(stack, f)
		case t.kind == tokClose:
			if len(stack) == 1 {
				return nil, fmt.Errorf("unbalanced ) at %d", t.at)
			}
			closeFrame(top)
			stack = stack[:len(stack)-1]
		case t.is("OVER") && next.kind != tokOpen:
			found = append(found, violation{vNamedWindow, t.at})
		case t.is("PARTITION") && next.is("BY"):
			top.partition = true
		case t.is("LIMIT"):
			top.limit = true
		case t.is("ORDER") && next.is("BY"):
			top.orderBy = append(top.orderBy, t.at)
		}
	}
	if len(stack) != 1 {
		return nil, fmt.Errorf("unbalanced ( at %d", stack[len(stack)-1].at)
	}
	closeFrame(stack[0])
	return found, nil
}

// TestInspect: the inspector flags each construct wherever it hides and
// is fooled by none of the look-alikes.
func TestInspect(t *testing.T) {
	tests := []struct {
		name, sql string
		want      []string // violations, in the order found
		err       bool
	}{
		{"plain select", "SELECT a, b FROM `p.d.t` WHERE a > 1", nil, false},
		{"partitioned window", "SELECT COUNT(*) OVER (PARTITION BY TRIM(CAST(a AS STRING))) > 1 FROM t", nil, false},
		{"partitioned and ordered window", "SELECT ROW_NUMBER() OVER (PARTITION BY a ORDER BY b DESC) FROM t", nil, false},
		{"bounded ARRAY_AGG", "SELECT ARRAY_AGG(STRUCT(a, b) ORDER BY c DESC, (d) DESC LIMIT 1)[OFFSET(0)] FROM t GROUP BY e", nil, false},
		{"lower case", "select array_agg(x order by y limit 1) from t", nil, false},
		{"keywords in strings", `SELECT 'ORDER BY a', "OVER ()", """ARRAY_AGG(x) ORDER BY 'y'""", r'a\\b' AS s FROM t`, nil, false},
		{"escaped quote in a string", `SELECT 'it\'s ORDER BY x' FROM t`, nil, false},
		{"keywords as quoted names", "SELECT `ORDER` AS `BY`, `OVER` FROM `ARRAY_AGG`", nil, false},
		{"keywords in comments", "SELECT a -- ORDER BY a\nFROM t /* OVER () */ # ARRAY_AGG(x)\n", nil, false},
		{"parenthesis in a string inside OVER", "SELECT SUM(a) OVER (PARTITION BY IF(b = ')', 1, 2)) FROM t", nil, false},
		{"next rate per currency", "SELECT LEAD(d) OVER (PARTITION BY c ORDER BY d) AS n FROM r", nil, false},
		{"rate days spelled out", "SELECT c, x FROM r, UNNEST(GENERATE_DATE_ARRAY(d, IFNULL(DATE_SUB(n, INTERVAL 1 DAY), @run_date))) AS x", nil, false},
		{"second smallest rate", "SELECT MIN(IF(v > lo, v, NULL)) FROM (SELECT *, MIN(v) OVER (PARTITION BY c, d) AS lo FROM r) GROUP BY c, d HAVING COUNT(*) > 1", nil, false},

		{"global row number", "SELECT *, ROW_NUMBER() OVER (ORDER BY a, b) AS _row FROM t", []string{vWindowNoPartition}, false},
		{"empty window", "SELECT SUM(a) OVER () FROM t", []string{vWindowNoPartition}, false},
		{"next rate over every currency", "SELECT LEAD(d) OVER (ORDER BY c, d) FROM r", []string{vWindowNoPartition}, false},
		{"partition only in a nested subquery", "SELECT SUM(a) OVER (ORDER BY (SELECT 1 FROM u WINDOW w AS (PARTITION BY x))) FROM t",
			[]string{vWindowNoPartition}, false},
		{"named window", "SELECT SUM(a) OVER w FROM t WINDOW w AS (PARTITION BY b)", []string{vNamedWindow}, false},
		{"final ORDER BY", "SELECT a FROM t ORDER BY a", []string{vOrderBy}, false},
		{"final ORDER BY with LIMIT", "SELECT a FROM t ORDER BY a LIMIT 10", []string{vOrderBy}, false},
		{"ORDER BY in a CTE", "WITH s AS (SELECT a FROM t ORDER BY a) SELECT a FROM s", []string{vOrderBy}, false},
		{"ORDER BY after a window", "SELECT SUM(a) OVER (PARTITION BY b) FROM t ORDER BY b", []string{vOrderBy}, false},
		{"unbounded ARRAY_AGG", "SELECT ARRAY_AGG(a) FROM t GROUP BY b", []string{vUnboundedArrayAgg}, false},
		{"ordered unbounded ARRAY_AGG", "SELECT ARRAY_AGG(a ORDER BY c) FROM t GROUP BY b", []string{vUnboundedArrayAgg, vOrderBy}, false},
		{"LIMIT only in a nested subquery", "SELECT ARRAY_AGG((SELECT x FROM u LIMIT 1) ORDER BY c) FROM t", []string{vUnboundedArrayAgg, vOrderBy}, false},
		{"ORDER BY in STRING_AGG", "SELECT STRING_AGG(a ORDER BY a LIMIT 3) FROM t", []string{vOrderBy}, false},

		{"unterminated string", "SELECT 'abc FROM t", nil, true},
		{"unterminated name", "SELECT `abc FROM t", nil, true},
		{"unterminated comment", "SELECT a /* FROM t", nil, true},
		{"unbalanced close", "SELECT a) FROM t", nil, true},
		{"unbalanced open", "SELECT (a FROM t", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			found, err := inspect(tt.sql)
			if tt.err {
				if err == nil {
					t.Fatalf("no error, found %v", found)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range found {
				got = append(got, v.what)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("found %v, want %v", found, tt.want)
			}
		})
	}
}

// TestTokenize: literals and quoted names are single tokens, whatever
// they hold.
func TestTokenize(t *testing.T) {
	if toks, err := tokenize(`SELECT """q" FROM t`); err == nil {
		t.Fatalf("an unterminated triple-quoted string was accepted: %v", toks)
	}
	toks, err := tokenize(`SELECT ` + "`a.b`" + `, 'x\'y', """q"q""", @p, 1.5e-3, (x) FROM t -- done`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tk := range toks {
		got = append(got, fmt.Sprintf("%d:%s", tk.kind, tk.text))
	}
	want := []string{"0:SELECT", "1:a.b", "7:,", `2:'x\'y'`, "7:,", `2:"""q"q"""`, "7:,", "4:@p", "7:,", "3:1.5e-3", "7:,", "5:(", "0:x", "6:)", "0:FROM", "0:t"}
	if !slices.Equal(got, want) {
		t.Errorf("tokens\n%v\nwant\n%v", got, want)
	}
}
