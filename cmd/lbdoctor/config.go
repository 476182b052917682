package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/lbdoctor/lbdoctor/checks/node"
)

// fileConfig is .lbdoctor.yaml: a team's defaults for check, overridden by
// flags.
type fileConfig struct {
	Nginx      []string          `yaml:"nginx"`
	HAProxy    []string          `yaml:"haproxy"`
	Keepalived []string          `yaml:"keepalived"`
	Apache     []string          `yaml:"apache"`
	PostgreSQL []string          `yaml:"postgresql"`
	Redis      []string          `yaml:"redis"`
	Root       string            `yaml:"root"`
	Host       string            `yaml:"host"`
	Hosts      []string          `yaml:"hosts"`
	Role       string            `yaml:"role"`
	FailOn     string            `yaml:"fail-on"`
	Format     string            `yaml:"format"`
	Checks     string            `yaml:"checks"`
	Severity   map[string]string `yaml:"severity"`
	Ignore     []configIgnore    `yaml:"ignore"`

	// SystemdSocket are .socket unit files, Envoy bootstrap configs.
	SystemdSocket []string `yaml:"systemd-socket"`
	Envoy         []string `yaml:"envoy"`
	// Services are daemons lbdoctor has no parser for, declared with
	// their listen addresses.
	Services []node.DeclaredService `yaml:"services"`
}

// configIgnore silences findings by ID and, optionally, file and address.
type configIgnore struct {
	ID      string `yaml:"id"`
	Path    string `yaml:"path"`
	Address string `yaml:"address"`
	Reason  string `yaml:"reason"`
}

const configName = ".lbdoctor.yaml"

// loadConfig reads the config file named by --config, or .lbdoctor.yaml in
// the working directory when it exists. Unknown keys are errors with their
// line, so a typo never silently drops a setting.
func loadConfig(path string) (*fileConfig, string, error) {
	explicit := path != ""
	if !explicit {
		path = configName
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			return &fileConfig{}, "", nil
		}
		return nil, "", fmt.Errorf("--config: %w", err)
	}
	var cfg fileConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	if err := node.CheckDeclared(cfg.Services); err != nil {
		return nil, "", fmt.Errorf("%s: services: %w", path, err)
	}
	for i, ig := range cfg.Ignore {
		if ig.ID == "" || ig.Reason == "" {
			return nil, "", fmt.Errorf("%s: ignore entry %d needs an id and a reason", path, i+1)
		}
	}
	return &cfg, path, nil
}
