package apache

import (
	"path/filepath"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// Envvars reads Debian's /etc/apache2/envvars (as apache2ctl sources it
// before starting httpd) below root: the variables it assigns, for ${VAR}
// in the config, and the -D names of APACHE_ARGUMENTS. It reads the plain
// "[export] NAME=value" lines at the top level and expands $NAME and
// ${NAME} from the variables set so far; shell code inside if blocks
// (Debian's multi-instance SUFFIX) is skipped, so SUFFIX is empty, as it
// is for the default instance. A missing file yields nothing.
func Envvars(root parsers.Root, path string) (env map[string]string, defines []string) {
	env = map[string]string{}
	data, err := root.ReadFile(path)
	if err != nil {
		return env, nil
	}
	depth := 0
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		word := strings.Fields(line)[0]
		switch word {
		case "if", "case", "while", "for":
			depth++
			continue
		case "fi", "esac", "done":
			depth = max(0, depth-1)
			continue
		}
		if depth > 0 {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		name, value, ok := strings.Cut(line, "=")
		if !ok || strings.ContainsAny(name, " \t$") {
			continue
		}
		env[name] = shellValue(value, env)
	}
	return env, Defines(env["APACHE_ARGUMENTS"])
}

// Defines are the -D names of httpd's command-line arguments ("-D SSL
// -DSTAGING"), as Debian's APACHE_ARGUMENTS and RHEL's OPTIONS in
// /etc/sysconfig/httpd give them.
func Defines(arguments string) []string {
	var defines []string
	args := strings.Fields(arguments)
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "-D" && i+1 < len(args):
			defines = append(defines, args[i+1])
			i++
		case strings.HasPrefix(args[i], "-D") && len(args[i]) > 2:
			defines = append(defines, args[i][2:])
		}
	}
	return defines
}

// shellValue is a shell word's value: quotes removed, $NAME and ${NAME}
// expanded (single quotes keep them), a trailing comment dropped.
func shellValue(s string, env map[string]string) string {
	var b strings.Builder
	quote := byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == 0 && (c == ' ' || c == '\t'):
			return b.String()
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
		case c == quote:
			quote = 0
		case c == '$' && quote != '\'':
			j := i + 1
			var name string
			if j < len(s) && s[j] == '{' {
				end := strings.IndexByte(s[j:], '}')
				if end < 0 {
					b.WriteByte(c)
					continue
				}
				name, i = s[j+1:j+end], j+end
			} else {
				k := j
				for k < len(s) && (s[k] == '_' || s[k] >= 'A' && s[k] <= 'Z' || s[k] >= 'a' && s[k] <= 'z' || s[k] >= '0' && s[k] <= '9') {
					k++
				}
				name, i = s[j:k], k-1
			}
			b.WriteString(env[name])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// StartEnv is the environment and the -D names httpd reading the main
// config at path gets from its start script: Debian's apache2ctl sources
// envvars next to apache2.conf (APACHE_ARGUMENTS), and RHEL's httpd.service
// reads OPTIONS from /etc/sysconfig/httpd.
func StartEnv(root parsers.Root, path string) (env map[string]string, defines []string) {
	env, defines = Envvars(root, filepath.Join(filepath.Dir(path), "envvars"))
	if strings.HasPrefix(path, "/etc/httpd/") {
		sysconfig, _ := Envvars(root, "/etc/sysconfig/httpd")
		defines = append(defines, Defines(sysconfig["OPTIONS"])...)
	}
	return env, defines
}
