package main

import (
	"bytes"
	"flag"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// flagNames lists the flags c defines, from its flag set, so a flag added
// without help fails the tests below.
func flagNames(c *command) []*flag.Flag {
	fs, _ := c.flags()
	var out []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { out = append(out, f) })
	return out
}

// placeholder is how a value flag's usage names its value: `FILE`, `N`,
// `a,b,...`; never the Go type UnquoteUsage falls back to.
var placeholder = regexp.MustCompile(`^([A-Z][A-Z-]*|[a-z]+[,=][a-z,.=]*)$`)

// TestCommandHelp: --help, -h and `retain help <command>` succeed for every
// command and print its purpose, every flag with its meaning and default,
// and an example, on stdout.
func TestCommandHelp(t *testing.T) {
	for i := range commands {
		c := &commands[i]
		for _, args := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {"help", c.name}} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				if err := run(args, &stdout, &stderr); err != nil || exitCode(err) != exitOK {
					t.Fatalf("err %v (exit %d), want exit 0", err, exitCode(err))
				}
				if stderr.Len() > 0 {
					t.Errorf("help wrote to stderr: %q", stderr.String())
				}
				out := stdout.String()
				if !strings.HasPrefix(out, "retain "+c.name+": "+c.purpose+"\n") || c.purpose == "" {
					t.Errorf("help does not start with the purpose:\n%s", out)
				}
				if !strings.Contains(out, "\nExample:\n  "+c.example+"\n") || !strings.HasPrefix(c.example, "retain "+c.name) {
					t.Errorf("help has no example of retain %s:\n%s", c.name, out)
				}
				for _, f := range flagNames(c) {
					checkFlagHelp(t, c, f, out)
				}
			})
		}
	}
}

// checkFlagHelp: the flag's entry gives its value's name, its meaning and
// its default (or that it is required).
func checkFlagHelp(t *testing.T, c *command, f *flag.Flag, out string) {
	t.Helper()
	head := "\n  " + flagWithValue(f) + "\n"
	i := strings.Index(out, head)
	if i < 0 {
		t.Errorf("help of %s does not list --%s:\n%s", c.name, f.Name, out)
		return
	}
	entry := out[i+len(head):]
	if j := strings.Index(entry, "\n  --"); j >= 0 {
		entry = entry[:j]
	} else if j := strings.Index(entry, "\n\n"); j >= 0 {
		entry = entry[:j]
	}
	if value, usage := flag.UnquoteUsage(f); strings.TrimSpace(usage) == "" {
		t.Errorf("--%s has no help", f.Name)
	} else if _, isBool := f.Value.(interface{ IsBoolFlag() bool }); !isBool && !placeholder.MatchString(value) {
		t.Errorf("--%s names its value %q; quote a placeholder such as `FILE` in its help", f.Name, value)
	}
	want := "(default "
	switch {
	case slices.Contains(c.required, f.Name):
		want = "(required)"
	case f.DefValue == "":
		want = "(default: none)"
	}
	if !strings.Contains(strings.Join(strings.Fields(entry), " "), want) {
		t.Errorf("--%s: %q does not say %s", f.Name, entry, want)
	}
}

// TestUsageErrors: an unknown flag, or a missing required one, exits 2 with
// the command's usage on stderr and nothing on stdout.
func TestUsageErrors(t *testing.T) {
	type usageCase struct {
		name string
		args []string
		want string
	}
	var tests []usageCase
	for i := range commands {
		c := &commands[i]
		var required []string
		for _, r := range c.required {
			required = append(required, "--"+r, "x")
		}
		tests = append(tests, usageCase{c.name + " unknown flag", append([]string{c.name, "--no-such-flag"}, required...), "flag provided but not defined"})
		for k, r := range c.required {
			args := append([]string{c.name}, required[:2*k]...)
			args = append(args, required[2*k+2:]...)
			tests = append(tests, usageCase{c.name + " without --" + r, args, "--" + r + " is required"})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(tt.args, &stdout, &stderr)
			if exitCode(err) != exitUsage || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v (exit %d), want exit 2 saying %q", err, exitCode(err), tt.want)
			}
			if !strings.Contains(stderr.String(), "Usage:\n  retain "+tt.args[0]) {
				t.Errorf("stderr has no usage of %s:\n%s", tt.args[0], stderr.String())
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
		})
	}
}

// TestOverview: retain --help lists every command with its purpose and
// its flags, and succeeds; without a command, or with an unknown one, the
// same goes to stderr and exits 2.
func TestOverview(t *testing.T) {
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"--help"}, exitOK},
		{[]string{"-h"}, exitOK},
		{[]string{"help"}, exitOK},
		{nil, exitUsage},
		{[]string{"frobnicate"}, exitUsage},
		{[]string{"help", "frobnicate"}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(tt.args, &stdout, &stderr)
			if got := exitCode(err); got != tt.code {
				t.Fatalf("exit %d (err %v), want %d", got, err, tt.code)
			}
			out, other := stdout.String(), stderr.String()
			if tt.code != exitOK {
				out, other = other, out
			}
			if other != "" {
				t.Errorf("overview also wrote %q", other)
			}
			for i := range commands {
				c := &commands[i]
				fs, _ := c.flags()
				if !regexp.MustCompile(`\n  ` + c.name + ` +` + regexp.QuoteMeta(c.purpose) + `\n`).MatchString(out) {
					t.Errorf("overview does not list %s with its purpose:\n%s", c.name, out)
				}
				if !strings.Contains(out, "\n  "+synopsis(c, fs)+"\n") {
					t.Errorf("overview lacks %q", synopsis(c, fs))
				}
			}
		})
	}
}

// TestREADMECommands: the command list at the top of README.md's "The
// job" is the overview's, flag for flag.
func TestREADMECommands(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n## The job\n")
	_, block, ok2 := strings.Cut(section, "```sh\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal(`README.md has no sh block under "## The job"`)
	}
	var want []string
	for i := range commands {
		fs, _ := commands[i].flags()
		want = append(want, synopsis(&commands[i], fs))
	}
	if got := strings.Split(strings.TrimSpace(block), "\n"); !slices.Equal(got, want) {
		t.Errorf("README.md lists\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
