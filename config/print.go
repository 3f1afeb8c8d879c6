package config

import toml "github.com/pelletier/go-toml/v2"

// TOML returns the effective configuration, defaults filled in, as TOML.
func (c *Config) TOML() ([]byte, error) { return toml.Marshal(c) }
