package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// The scripts ask ldapply itself for candidates through urfave/cli's
// --generate-bash-completion, so they follow the CLI definition.
const bashCompletion = `# bash completion for ldapply
_ldapply() {
  local cur opts
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  if [[ "$cur" == -* ]]; then
    opts=$("${COMP_WORDS[@]:0:$COMP_CWORD}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${COMP_WORDS[@]:0:$COMP_CWORD}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
  return 0
}
complete -o bashdefault -o default -F _ldapply ldapply
`

const zshCompletion = `#compdef ldapply
_ldapply() {
  local -a opts
  local cur=${words[-1]}
  if [[ "$cur" == -* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion 2>/dev/null)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _ldapply ldapply
`

func cmdCompletion(c *cli.Context) error {
	var script string
	switch c.Args().First() {
	case "bash":
		script = bashCompletion
	case "zsh":
		script = zshCompletion
	case "fish":
		// urfave/cli writes fish's from the commands and flags.
		fish, err := c.App.ToFishCompletion()
		if err != nil {
			return fmt.Errorf("completion fish: %w", err)
		}
		script = dedupeLines(fish)
	default:
		return fmt.Errorf("completion needs the shell: ldapply completion bash|zsh|fish")
	}
	_, err := io.WriteString(c.App.Writer, script)
	return err
}

// dedupeLines drops a line that repeats an earlier one: urfave/cli writes
// the top level's --help and --version, and a shared help command's
// flags, twice into the fish script.
func dedupeLines(script string) string {
	seen := map[string]bool{}
	var b strings.Builder
	for _, l := range strings.SplitAfter(script, "\n") {
		if strings.HasPrefix(l, "complete ") && seen[l] {
			continue
		}
		seen[l] = true
		b.WriteString(l)
	}
	return b.String()
}
