package cliapp

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// Flags returns a flag for each field of the struct cfg points to that has
// a `flag` tag, in field order, descending into struct fields: the package
// that owns a setting says its flag name, alias, environment variable,
// usage and required-ness once, beside the field, and its default is the
// field's value when Flags is called (a package's DefaultConfig). Each
// flag writes its field, so after parsing *cfg is what the command line
// and the environment say, and no command copies flags into a config.
//
//	Listen string `flag:"listen" env:"SIGNET_LISTEN" usage:"webhook address (TLS)"`
//
// Other tags: alias:"o", required:"true". Fields may be string, bool, int,
// time.Duration or []string; any other tagged field panics (a programming
// error, caught by every test that builds the app).
func Flags(cfg any) []cli.Flag {
	var out []cli.Flag
	v := reflect.ValueOf(cfg).Elem()
	for i := range v.NumField() {
		f, field := v.Type().Field(i), v.Field(i)
		name := f.Tag.Get("flag")
		if name == "" {
			if f.Type.Kind() == reflect.Struct && f.IsExported() {
				out = append(out, Flags(field.Addr().Interface())...)
			}
			continue
		}
		out = append(out, flagFor(name, f.Tag, field.Addr().Interface()))
	}
	return out
}

// Select returns the flags of fs named names, in that order: a command
// picks its flags, and their order in its help, from those a config
// declares. A name fs lacks panics (a programming error every test that
// builds the app finds).
func Select(fs []cli.Flag, names ...string) []cli.Flag {
	out := make([]cli.Flag, len(names))
	for i, n := range names {
		j := slices.IndexFunc(fs, func(f cli.Flag) bool { return f.Names()[0] == n })
		if j < 0 {
			panic("cliapp.Select: no flag --" + n)
		}
		out[i] = fs[j]
	}
	return out
}

// flagFor is the flag of one tagged field, ptr pointing at it.
func flagFor(name string, tag reflect.StructTag, ptr any) cli.Flag {
	var aliases, env []string
	if a := tag.Get("alias"); a != "" {
		aliases = strings.Split(a, ",")
	}
	if e := tag.Get("env"); e != "" {
		env = []string{e}
	}
	usage, required := tag.Get("usage"), tag.Get("required") == "true"
	switch p := ptr.(type) {
	case *string:
		return &cli.StringFlag{Name: name, Aliases: aliases, EnvVars: env, Usage: usage, Required: required, Value: *p, Destination: p}
	case *bool:
		return &cli.BoolFlag{Name: name, Aliases: aliases, EnvVars: env, Usage: usage, Required: required, Value: *p, Destination: p}
	case *int:
		return &cli.IntFlag{Name: name, Aliases: aliases, EnvVars: env, Usage: usage, Required: required, Value: *p, Destination: p}
	case *time.Duration:
		return &cli.DurationFlag{Name: name, Aliases: aliases, EnvVars: env, Usage: usage, Required: required, Value: *p, Destination: p}
	case *[]string:
		f := &cli.StringSliceFlag{Name: name, Aliases: aliases, EnvVars: env, Usage: usage, Required: required,
			Action: func(_ *cli.Context, v []string) error { *p = v; return nil }}
		if len(*p) > 0 {
			f.Value = cli.NewStringSlice(*p...)
		}
		return f
	}
	panic(fmt.Sprintf("cliapp.Flags: --%s: a %T field cannot be a flag", name, ptr))
}
