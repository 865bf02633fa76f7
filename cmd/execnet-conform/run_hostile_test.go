package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/internal/hostileworker"
)

// TestRunAgainstBrokenTargets runs the whole suite against workers that
// are broken from the start (this test binary playing them): each run
// ends within a minute, exits non-zero, passes no case, and writes its
// JSON and JUnit reports.
func TestRunAgainstBrokenTargets(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mode    string
		code    int
		outcome string // of the last case
	}{
		{"junk-after-ready", exitFailure, "blocked"},
		{"bad-ready", exitUsage, "blocked"},
		{"no-status", exitFailure, "blocked"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Setenv(hostileworker.Env, tc.mode)
			junit := filepath.Join(t.TempDir(), "junit.xml")
			var stdout, stderr bytes.Buffer
			start := time.Now()
			code := runRun([]string{"--target", "popen//python=" + exe, "--pass-env", hostileworker.Env,
				"--format", "json", "--junit", junit, "--seed", "1"}, nil, &stdout, &stderr)
			took := time.Since(start)
			if code != tc.code {
				t.Errorf("exit status %d, want %d; stderr %s", code, tc.code, stderr.String())
			}
			if took > 60*time.Second {
				t.Errorf("the run took %v, want under a minute", took)
			}
			var rep struct {
				OK      bool   `json:"ok"`
				Blocked string `json:"blocked"`
				Cases   []struct {
					ID, Outcome, Message string
				} `json:"cases"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("JSON report: %v\n%.2000s", err, stdout.String())
			}
			if rep.OK || len(rep.Cases) < 800 {
				t.Errorf("report ok=%v with %d cases", rep.OK, len(rep.Cases))
			}
			for _, c := range rep.Cases {
				if c.Outcome == "pass" || c.Outcome == "xpass" {
					t.Errorf("%s %s against a broken target", c.ID, c.Outcome)
				}
			}
			if last := rep.Cases[len(rep.Cases)-1]; last.Outcome != tc.outcome {
				t.Errorf("last case %s %s %q, want %s", last.ID, last.Outcome, last.Message, tc.outcome)
			}
			b, err := os.ReadFile(junit)
			if err != nil {
				t.Fatalf("JUnit report not written: %v", err)
			}
			var suites struct {
				Tests  int `xml:"tests,attr"`
				Errors int `xml:"errors,attr"`
			}
			if err := xml.Unmarshal(b, &suites); err != nil || suites.Tests != len(rep.Cases) || suites.Errors == 0 {
				t.Errorf("JUnit report: %v, %+v", err, suites)
			}
			t.Logf("%s: exit %d in %v, %s", tc.mode, code, took.Round(time.Millisecond), strings.TrimSpace(stderr.String()))
		})
	}
}

// TestRunChecksOutputPathsFirst: a --junit path that cannot be created is
// a usage error before any case runs.
func TestRunChecksOutputPathsFirst(t *testing.T) {
	var stdout, stderr bytes.Buffer
	bad := filepath.Join(t.TempDir(), "no-such-dir", "junit.xml")
	start := time.Now()
	code := runRun([]string{"--junit", bad, "--target", "popen//python=/nonexistent/python"}, nil, &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "--junit") || time.Since(start) > 5*time.Second {
		t.Errorf("exit %d after %v, stderr %q: want a usage error naming --junit at once", code, time.Since(start), stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("output before the path check: %q", stdout.String())
	}
}

// TestRunTimeoutWritesReports: a run stopped by --run-timeout marks the
// case it was in and the rest as interrupted, writes both reports, and
// exits with status 2.
func TestRunTimeoutWritesReports(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(hostileworker.Env, "no-status")
	junit := filepath.Join(t.TempDir(), "junit.xml")
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := runRun([]string{"--target", "popen//python=" + exe, "--pass-env", hostileworker.Env,
		"--format", "json", "--junit", junit, "--run-timeout", "3s"}, nil, &stdout, &stderr)
	if code != exitUsage || time.Since(start) > 20*time.Second {
		t.Errorf("exit %d after %v, want 2 soon after the time limit; stderr %s", code, time.Since(start), stderr.String())
	}
	var rep struct {
		Interrupted string         `json:"interrupted"`
		Counts      map[string]int `json:"counts"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("JSON report: %v", err)
	}
	if !strings.Contains(rep.Interrupted, "--run-timeout 3s") || rep.Counts["interrupted"] == 0 || rep.Counts["skip"] > 1 {
		t.Errorf("report interrupted %q, counts %v: want the time limit named and the rest interrupted", rep.Interrupted, rep.Counts)
	}
	if b, err := os.ReadFile(junit); err != nil || !strings.Contains(string(b), `type="interrupted"`) {
		t.Errorf("JUnit report: %v", err)
	}
}
