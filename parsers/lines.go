package parsers

import "strings"

// SplitSystemdLines splits data at the line ends systemd's read_line()
// knows: "\n", "\r\n", "\r" and NUL. sysctl.d, unit files and their
// drop-ins are all read this way.
func SplitSystemdLines(data string) []string {
	var lines []string
	for len(data) > 0 {
		i := strings.IndexAny(data, "\n\r\x00")
		if i < 0 {
			lines = append(lines, data)
			break
		}
		lines = append(lines, data[:i])
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	return lines
}
