package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// command is one of retain's commands.
type command struct {
	name string
	// purpose is the help's first line; example is a command line to copy.
	purpose, example string
	// required names the flags without which the command cannot run.
	required []string
	// setup defines the command's flags on fs and returns what runs the
	// command once they are parsed.
	setup func(fs *flag.FlagSet) func(stdout, stderr io.Writer) error
}

// flags returns the command's flag set, which prints nothing itself: help
// goes to stdout, usage errors to stderr, and the error line once, from
// main.
func (c *command) flags() (*flag.FlagSet, func(stdout, stderr io.Writer) error) {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs, c.setup(fs)
}

// runCommand parses the command's flags and runs it. --help (-h) prints
// the command's help and succeeds; an unknown or malformed flag or a
// missing required one prints it on stderr and is a usage error.
func runCommand(c *command, args []string, stdout, stderr io.Writer) error {
	fs, exec := c.flags()
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return writeHelp(stdout, c, fs)
		}
		_ = writeHelp(stderr, c, fs)
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	for _, name := range c.required {
		if fs.Lookup(name).Value.String() == "" {
			_ = writeHelp(stderr, c, fs)
			return fmt.Errorf("%w: --%s is required", errUsage, name)
		}
	}
	return exec(stdout, stderr)
}

func commandNamed(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// synopsis is the command's line in the top-level help and in README.md:
// its required flags, then the others in brackets.
func synopsis(c *command, fs *flag.FlagSet) string {
	parts := []string{"retain", c.name}
	for _, name := range c.required {
		parts = append(parts, flagWithValue(fs.Lookup(name)))
	}
	fs.VisitAll(func(f *flag.Flag) {
		if !slices.Contains(c.required, f.Name) {
			parts = append(parts, "["+flagWithValue(f)+"]")
		}
	})
	return strings.Join(parts, " ")
}

// flagWithValue is "--name VALUE", VALUE being the usage's `quoted` word;
// a switch has none.
func flagWithValue(f *flag.Flag) string {
	value, _ := flag.UnquoteUsage(f)
	if value == "" {
		return "--" + f.Name
	}
	return "--" + f.Name + " " + value
}

// defaultText says what a flag is when it is not given.
func defaultText(c *command, f *flag.Flag) string {
	switch {
	case slices.Contains(c.required, f.Name):
		return "(required)"
	case f.DefValue == "":
		return "(default: none)"
	}
	if g, ok := f.Value.(flag.Getter); ok {
		if _, isString := g.Get().(string); isString {
			return fmt.Sprintf("(default %q)", f.DefValue)
		}
	}
	return "(default " + f.DefValue + ")"
}

// writeHelp prints a command's purpose, synopsis, every flag with what it
// means and its default, and an example.
func writeHelp(w io.Writer, c *command, fs *flag.FlagSet) error {
	var b strings.Builder
	fmt.Fprintf(&b, "retain %s: %s\n\nUsage:\n  %s\n\n", c.name, c.purpose, synopsis(c, fs))
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		if n == 0 {
			b.WriteString("Flags:\n")
		}
		n++
		_, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(&b, "  %s\n", flagWithValue(f))
		wrap(&b, usage+" "+defaultText(c, f), "        ", 80)
	})
	if n == 0 {
		b.WriteString("Flags: none but --help.\n")
	}
	fmt.Fprintf(&b, "\nExample:\n  %s\n", c.example)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeOverview is retain --help: every command with its purpose, then
// every command's flags.
func writeOverview(w io.Writer) error {
	var b strings.Builder
	b.WriteString("retain: nightly customer-retention tables from order data.\n\n")
	b.WriteString("Usage:\n  retain <command> [flags]\n  retain help <command>    the command's flags, their defaults and an example (or: retain <command> --help)\n\n")
	b.WriteString("Commands:\n")
	width := 0
	for _, c := range commands {
		width = max(width, len(c.name))
	}
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, c.name, c.purpose)
	}
	b.WriteString("\nFlags by command:\n")
	for i := range commands {
		fs, _ := commands[i].flags()
		fmt.Fprintf(&b, "  %s\n", synopsis(&commands[i], fs))
	}
	b.WriteString("\nExit codes: 0 ok; 1 failure; 2 bad command line; 3 no input for the run date (nothing replaced).\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// wrap writes text in lines of at most width columns, each indented.
func wrap(b *strings.Builder, text, indent string, width int) {
	line := indent
	for _, word := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += word
	}
	b.WriteString(line + "\n")
}
