package report

import (
	"encoding/json"
	"io"
	"strings"

	"github.com/lbdoctor/lbdoctor/checks"
)

// The SARIF 2.1.0 subset lbdoctor writes: one run, a rule per check, a
// result per finding with its file and line.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string          `json:"id"`
	Name                 string          `json:"name"`
	ShortDescription     sarifText       `json:"shortDescription"`
	FullDescription      sarifText       `json:"fullDescription"`
	Help                 sarifText       `json:"help"`
	DefaultConfiguration sarifRuleConfig `json:"defaultConfiguration"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

func sarifLevel(s checks.Severity) string {
	switch s {
	case checks.Error:
		return "error"
	case checks.Warning:
		return "warning"
	}
	return "note"
}

// SARIF writes the results as a SARIF 2.1.0 log for code-scanning tools,
// one run per result (one per --host).
func SARIF(w io.Writer, version string, rs ...*checks.Result) error {
	all := checks.All()
	index := map[string]int{}
	rules := make([]sarifRule, len(all))
	for i, c := range all {
		index[c.ID] = i
		rules[i] = sarifRule{
			ID:                   c.ID,
			Name:                 c.Name,
			ShortDescription:     sarifText{c.Title},
			FullDescription:      sarifText{c.Title},
			Help:                 sarifText{c.Doc},
			DefaultConfiguration: sarifRuleConfig{sarifLevel(c.Severity)},
		}
	}
	log := sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{},
	}
	for _, r := range rs {
		log.Runs = append(log.Runs, sarifRun{
			Tool:    sarifTool{Driver: sarifDriver{Name: "lbdoctor", InformationURI: "https://github.com/lbdoctor/lbdoctor", Version: version, Rules: rules}},
			Results: sarifResults(r, index),
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}

func sarifResults(r *checks.Result, index map[string]int) []sarifResult {
	results := []sarifResult{}
	for _, f := range r.Findings {
		msg := f.Message
		if f.Why != "" {
			msg += ": " + f.Why
		}
		if len(f.Fix) > 0 {
			msg += ". Fix: " + strings.Join(f.Fix, "; ")
		}
		uri := f.Pos.File
		if strings.HasPrefix(uri, "/") {
			uri = "file://" + uri
		}
		loc := sarifPhysical{ArtifactLocation: sarifArtifact{URI: uri}}
		if f.Pos.Line > 0 {
			loc.Region = &sarifRegion{StartLine: f.Pos.Line}
		}
		results = append(results, sarifResult{
			RuleID:    f.ID,
			RuleIndex: index[f.ID],
			Level:     sarifLevel(f.Severity),
			Message:   sarifText{msg},
			Locations: []sarifLocation{{PhysicalLocation: loc}},
		})
	}
	return results
}
