package cli

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/mimic-emu/mimic/internal/azout"
)

// This file is the frame of mimic's az-compatible commands (group,
// identity, role assignment, vm, webapp…): az's global arguments, its
// argument errors and exit codes, multi-value flags, confirmation prompts,
// and rendering through package azout.
//
// az's exit codes: 0 success; 1 an error (a service error, a usage error
// raised by the command, "(--resource-group --name | --ids) are
// required"); 2 an argument error found while parsing (unrecognized or
// missing arguments, invalid choices, an invalid --query); 3 a missing
// resource (any 404 from the service).

// azFlags are az's global arguments.
type azFlags struct {
	output         string
	query          string
	subscription   string
	onlyShowErrors bool
	debug, verbose bool
}

// annotation keys of az-style flags.
const (
	// annNargs marks a flag that takes several space-separated values,
	// as argparse's nargs='+' ("+") or nargs='*' ("*").
	annNargs = "mimic-az-nargs"
)

// addAzGlobals gives an az command group az's global arguments.
func addAzGlobals(cmd *cobra.Command, g *globals) *cobra.Command {
	f := cmd.PersistentFlags()
	def := strings.ToLower(os.Getenv("AZURE_CORE_OUTPUT"))
	if def == "" {
		def = "json"
	}
	f.StringVarP(&g.az.output, "output", "o", def, "Output format: "+strings.Join(azout.Formats, ", "))
	f.StringVar(&g.az.query, "query", "", "JMESPath query string. See http://jmespath.org/ for more information and examples.")
	f.StringVar(&g.az.subscription, "subscription", "", "Name or ID of subscription (default: the profile's)")
	f.BoolVar(&g.az.onlyShowErrors, "only-show-errors", false, "Only show errors, suppressing warnings.")
	f.BoolVar(&g.az.debug, "debug", false, "Increase logging verbosity to show all debug logs.")
	f.BoolVar(&g.az.verbose, "verbose", false, "Increase logging verbosity.")
	cmd.SetFlagErrorFunc(azFlagError)
	return cmd
}

// azGroup is an az command group: without a subcommand it prints its
// help; an unknown subcommand is az's "misspelled" error.
func azGroup(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError(fmt.Sprintf("'%s' is misspelled or not recognized by the system.", args[0]))
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(subs...)
	return cmd
}

// usageError is an argument error: exit status 2.
func usageError(msg string) error {
	return &ExitError{Code: 2, Err: errors.New(msg)}
}

// cliError is an error raised by a command: exit status 1.
func cliError(format string, args ...any) error {
	return &ExitError{Code: 1, Err: fmt.Errorf(format, args...)}
}

// withRecommendation appends az's recommendation lines to an error.
type withRecommendation struct {
	err  error
	recs []string
}

func (e *withRecommendation) Error() string {
	return e.err.Error() + "\n" + strings.Join(e.recs, "\n")
}

func (e *withRecommendation) Unwrap() error { return e.err }

const queryReference = "To learn more about --query, please visit: 'https://docs.microsoft.com/cli/azure/query-azure-cli'"

// azFlagError turns pflag's errors into argparse's.
func azFlagError(cmd *cobra.Command, err error) error {
	var notExist *pflag.NotExistError
	var needsValue *pflag.ValueRequiredError
	var invalid *pflag.InvalidValueError
	switch {
	case errors.As(err, &notExist):
		name := "--" + notExist.GetSpecifiedName()
		if s := notExist.GetSpecifiedShortnames(); s != "" {
			name = "-" + s
		}
		return usageError("unrecognized arguments: " + name)
	case errors.As(err, &needsValue):
		f := needsValue.GetFlag()
		return argError(f, "expected one argument")
	case errors.As(err, &invalid):
		return argError(invalid.GetFlag(), fmt.Sprintf("invalid value: '%s'", invalid.GetValue()))
	}
	return usageError(err.Error())
}

// argError is argparse's "argument --name/-n: …".
func argError(f *pflag.Flag, msg string) error {
	return usageError("argument " + optionName(f) + ": " + msg)
}

// optionName names a flag as argparse does: "--name/-n".
func optionName(f *pflag.Flag) string {
	if f == nil {
		return ""
	}
	if f.Shorthand != "" {
		return "--" + f.Name + "/-" + f.Shorthand
	}
	return "--" + f.Name
}

// azCmd describes one az-style command.
type azCmd struct {
	Use, Short, Long, Example string
	// Required flags, checked by argparse: "the following arguments are
	// required: …" (exit 2), in this order.
	Required []string
	// IDParts are the flags that --ids replaces ("--resource-group
	// --name"); when set the command takes --ids, and missing parts are
	// "(… | --ids) are required" (exit 1).
	IDParts []string
	// Flags adds the command's own flags.
	Flags func(f *pflag.FlagSet)
	// Table is the command's table transformer.
	Table func(any) any
	// Confirm, when set, is the question asked before running; the
	// command takes --yes/-y.
	Confirm string
	// NoWait adds az's --no-wait (accepted; mimic finishes at once).
	NoWait bool
	// Run does the work and returns the result to print (nil: nothing).
	Run func(c *azCall) (any, error)
}

// azCall is one invocation of an az-style command.
type azCall struct {
	cmd *cobra.Command
	g   *globals
	// ids are the resource ids given with --ids.
	ids []string
	// changed reports whether a flag was given.
	changed func(name string) bool
	client  *azClient
	// principals are the subscription's principals, once looked up.
	principals []principal
}

// warn prints az's warning line, unless --only-show-errors.
func (c *azCall) warn(format string, args ...any) {
	if c.g.az.onlyShowErrors {
		return
	}
	fmt.Fprintf(c.g.stderr, "WARNING: "+format+"\n", args...)
}

// newAzCommand builds a cobra command from an azCmd.
func newAzCommand(g *globals, spec azCmd) *cobra.Command {
	var ids []string
	var yes, noWait bool
	cmd := &cobra.Command{
		Use:     spec.Use,
		Short:   spec.Short,
		Long:    spec.Long,
		Example: spec.Example,
		Args:    cobra.ArbitraryArgs,
	}
	f := cmd.Flags()
	f.SortFlags = false
	if spec.Flags != nil {
		spec.Flags(f)
	}
	if len(spec.IDParts) > 0 {
		multi(f, "ids", "", &ids, "One or more resource IDs (space-delimited). If provided, no other 'Resource Id' arguments should be specified.")
	}
	if spec.Confirm != "" {
		f.BoolVarP(&yes, "yes", "y", false, "Do not prompt for confirmation.")
	}
	if spec.NoWait {
		f.BoolVar(&noWait, "no-wait", false, "Do not wait for the long-running operation to finish.")
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageError("unrecognized arguments: " + strings.Join(args, " "))
		}
		if err := g.az.validate(); err != nil {
			return err
		}
		query, err := g.az.compileQuery()
		if err != nil {
			return err
		}
		var missing []string
		for _, req := range spec.Required {
			if m := missingArg(cmd.Flags(), req); m != "" {
				missing = append(missing, m)
			}
		}
		if len(missing) > 0 {
			return usageError("the following arguments are required: " + strings.Join(missing, ", "))
		}
		if err := loadFileArgs(cmd.Flags()); err != nil {
			return err
		}
		if len(spec.IDParts) > 0 && len(ids) == 0 {
			var parts []string
			for _, name := range spec.IDParts {
				if !cmd.Flags().Changed(name) {
					parts = append(parts, "--"+name)
				}
			}
			if len(parts) > 0 {
				return cliError("(%s | --ids) are required", strings.Join(parts, " "))
			}
		}
		if spec.Confirm != "" && !yes {
			if err := confirm(g, spec.Confirm); err != nil {
				return err
			}
		}
		c := &azCall{cmd: cmd, g: g, ids: ids, changed: cmd.Flags().Changed}
		result, err := spec.Run(c)
		if err != nil {
			return azErr(err)
		}
		if err := azout.Write(g.stdout, result, azout.Options{Format: g.az.output, Query: query, Table: spec.Table, Color: isTerminal(g.stdout)}); err != nil {
			if errors.Is(err, azout.ErrTable) {
				return cliError("%s", err.Error())
			}
			if query != nil {
				return &ExitError{Code: 1, Err: &withRecommendation{err: err, recs: []string{queryReference}}}
			}
			return err
		}
		return nil
	}
	return cmd
}

// missingArg names a required argument that was not given, as argparse
// does ("--name/-n"); "a|b" is one argument with several option names
// ("--name/--resource-group/-n/-g").
func missingArg(f *pflag.FlagSet, req string) string {
	var long, short []string
	for _, name := range strings.Split(req, "|") {
		if f.Changed(name) {
			return ""
		}
		fl := f.Lookup(name)
		long = append(long, "--"+name)
		if fl != nil && fl.Shorthand != "" {
			short = append(short, "-"+fl.Shorthand)
		}
	}
	return strings.Join(append(long, short...), "/")
}

// validate checks the global arguments as argparse does.
func (a *azFlags) validate() error {
	a.output = strings.ToLower(a.output)
	if !azout.ValidFormat(a.output) {
		quoted := make([]string, len(azout.Formats))
		for i, f := range azout.Formats {
			quoted[i] = "'" + f + "'"
		}
		return usageError(fmt.Sprintf("argument --output/-o: invalid choice: '%s' (choose from %s)", a.output, strings.Join(quoted, ", ")))
	}
	return nil
}

func (a *azFlags) compileQuery() (*azout.Query, error) {
	if a.query == "" {
		return nil, nil
	}
	q, err := azout.CompileQuery(a.query)
	if err != nil {
		return nil, &ExitError{Code: 2, Err: &withRecommendation{err: err, recs: []string{queryReference}}}
	}
	return q, nil
}

// multi adds a flag that takes several values, az's nargs='+'
// (--tags a=b c=d); it may be repeated.
func multi(f *pflag.FlagSet, name, short string, p *[]string, usage string) {
	f.StringArrayVarP(p, name, short, nil, usage)
	f.SetAnnotation(name, annNargs, []string{"+"})
}

// multiOptional is nargs='*': the flag alone means def.
func multiOptional(f *pflag.FlagSet, name string, p *[]string, def, usage string) {
	f.StringArrayVar(p, name, nil, usage)
	f.Lookup(name).NoOptDefVal = def
	f.SetAnnotation(name, annNargs, []string{"*"})
}

// expandAzArgs rewrites the values of multi-value flags into one flag per
// value ("--tags a=b c=d" → "--tags=a=b --tags=c=d"), so that pflag
// parses az's argparse syntax.
func expandAzArgs(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil {
		return args
	}
	nargs := func(tok string) *pflag.Flag {
		if !strings.HasPrefix(tok, "-") || strings.Contains(tok, "=") || tok == "--" {
			return nil
		}
		var fl *pflag.Flag
		if strings.HasPrefix(tok, "--") {
			fl = cmd.Flags().Lookup(tok[2:])
		} else if len(tok) == 2 {
			fl = cmd.Flags().ShorthandLookup(tok[1:])
		}
		if fl == nil || fl.Annotations[annNargs] == nil {
			return nil
		}
		return fl
	}
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		tok := args[i]
		if tok == "--" {
			return append(out, args[i:]...)
		}
		fl := nargs(tok)
		if fl == nil {
			out = append(out, tok)
			continue
		}
		n := 0
		for i+1 < len(args) && !looksLikeFlag(args[i+1]) {
			i++
			n++
			out = append(out, "--"+fl.Name+"="+args[i])
		}
		if n == 0 {
			out = append(out, tok)
		}
	}
	return out
}

// looksLikeFlag is argparse's test for an option string (a negative
// number is a value).
func looksLikeFlag(s string) bool {
	if !strings.HasPrefix(s, "-") || s == "-" {
		return false
	}
	if len(s) > 1 && (s[1] >= '0' && s[1] <= '9' || s[1] == '.') {
		return false
	}
	return true
}

// loadFileArgs replaces values of the form @FILE with the file's content,
// as az does for every argument.
func loadFileArgs(f *pflag.FlagSet) error {
	var err error
	f.Visit(func(fl *pflag.Flag) {
		if err != nil {
			return
		}
		switch v := fl.Value.(type) {
		case pflag.SliceValue:
			vals := v.GetSlice()
			changed := false
			for i, s := range vals {
				if c, ok, e := fileArg(s); e != nil {
					err = e
					return
				} else if ok {
					vals[i], changed = c, true
				}
			}
			if changed {
				err = v.Replace(vals)
			}
		default:
			if fl.Value.Type() != "string" {
				return
			}
			if c, ok, e := fileArg(fl.Value.String()); e != nil {
				err = e
			} else if ok {
				err = fl.Value.Set(c)
			}
		}
	})
	return err
}

func fileArg(s string) (string, bool, error) {
	if !strings.HasPrefix(s, "@") || len(s) < 2 {
		return s, false, nil
	}
	path := s[1:]
	if strings.HasPrefix(path, "~/") {
		if h, err := os.UserHomeDir(); err == nil {
			path = h + path[1:]
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false, cliError("%s", err.Error())
	}
	return strings.TrimPrefix(string(b), "\ufeff"), true, nil
}

// confirm asks az's question; without a terminal it is az's error.
func confirm(g *globals, question string) error {
	if !isTerminal(os.Stdin) {
		return cliError("Unable to prompt for confirmation as no tty available. Use --yes.")
	}
	r := bufio.NewReader(os.Stdin)
	for {
		fmt.Fprintf(g.stderr, "%s (y/n): ", question)
		line, err := r.ReadString('\n')
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "y", "yes":
			return nil
		case "n", "no":
			return cliError("Operation cancelled.")
		}
		if err != nil {
			return cliError("Operation cancelled.")
		}
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// azErr turns a command's error into az's: service errors read
// "(Code) Message" with Code and Message lines, 404s exit 3.
func azErr(err error) error {
	var ee *ExitError
	if errors.As(err, &ee) {
		return err
	}
	var api *APIError
	if errors.As(err, &api) {
		code := 1
		if api.Status == 404 {
			code = 3
		}
		return &ExitError{Code: code, Err: &serviceError{api}}
	}
	var nf *notFoundError
	if errors.As(err, &nf) {
		code := nf.code
		if code == 0 {
			code = 3
		}
		return &ExitError{Code: code, Err: err}
	}
	return &ExitError{Code: 1, Err: err}
}

// serviceError prints an ARM or data-plane error as azure-core's
// HttpResponseError does.
type serviceError struct{ api *APIError }

func (e *serviceError) Error() string {
	a := e.api
	return fmt.Sprintf("(%s) %s\nCode: %s\nMessage: %s", a.Code, a.Message, a.Code, a.Message)
}

func (e *serviceError) Unwrap() error { return e.api }

// notFoundError is a missing resource found by the CLI itself. az's
// commands differ in how they exit then: a ResourceNotFoundError exits 3
// (code 0 here), a CLIError 1, a validator's ValueError 2.
type notFoundError struct {
	msg  string
	code int
}

func (e *notFoundError) Error() string { return e.msg }

// sortedKeysOf returns a map's keys sorted.
func sortedKeysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
