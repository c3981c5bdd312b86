// Bash completion, made from the command table (spec.ts): commands,
// subcommands with their aliases, each command's options, the values of
// options with choices, files for --config. Service and backend names come
// from the daemon through `sluice __complete`, which gives up after a second
// and prints nothing when no daemon answers.
import { ApiClient } from './api-client';
import { COMMANDS, GROUPS, id, optionsOf, type ArgSpec, type OptionSpec } from './spec';

/** How long `sluice __complete` waits for the daemon. */
export const COMPLETE_TIMEOUT_MS = 1000;

const words = (xs: readonly string[]) => xs.join(' ');

function optionWords(options: OptionSpec[]): string {
  return words(options.filter((o) => !o.renamed).flatMap((o) => [`--${o.name}`, ...(o.short ? [`-${o.short}`] : [])]));
}

function argKind(a: ArgSpec): string {
  if (a.complete === 'service' || a.complete === 'backend') return a.complete;
  if (typeof a.complete === 'object') return `choice:${a.complete.choices.join(',')}`;
  return '-';
}

export function bashCompletion(): string {
  const all = [...new Map(COMMANDS.flatMap(optionsOf).map((o) => [o.name, o])).values()].filter((o) => !o.renamed);
  const valued = all.filter((o) => o.kind !== 'flag');
  const top = [...new Set(COMMANDS.map((c) => c.path[0]))];
  const valueCases = [
    ...valued.filter((o) => typeof o.kind === 'object').map((o) =>
      `    --${o.name}) COMPREPLY=($(compgen -W "${words((o.kind as { choices: readonly string[] }).choices)}" -- "$cur")); return ;;`),
    ...valued.filter((o) => o.kind === 'file').map((o) => `    --${o.name}) COMPREPLY=($(compgen -f -- "$cur")); return ;;`),
    `    ${valued.filter((o) => o.kind !== 'file' && typeof o.kind !== 'object').map((o) => `--${o.name}`).join('|')}) return ;;`,
  ];
  const groupCases = GROUPS.map((g) => {
    const subs = COMMANDS.filter((c) => c.path[0] === g.name).flatMap((c) => [c.path[1], ...(c.aliases ?? [])]);
    return `    ${g.name}) subs="${words(subs)}" ;;`;
  });
  const aliasCases = [...new Set(COMMANDS.flatMap((c) => (c.aliases ?? []).map((a) => `${a}) sub=${c.path[1]} ;;`)))];
  const commandCases = COMMANDS.map((c) =>
    `    "${id(c)}") opts="${optionWords(optionsOf(c))}"; args="${words(c.args.map(argKind))}" ;;`);
  return `# bash completion for sluice: commands, subcommands, options and their values;
# service and backend names from the daemon (--api, $SLUICE_API) when one answers.
# Made by \`sluice completion bash\` (src/cli/completion.ts). Install: docs/api.md#cli.

# The CLI gives up on a daemon that does not answer within a second.
_sluice_names() {
  local cli=$1
  shift
  "$cli" __complete "$@" 2>/dev/null
}

_sluice() {
  local cur prev words cword
  if declare -F _get_comp_words_by_ref >/dev/null 2>&1; then
    _get_comp_words_by_ref -n =: cur prev words cword
  else
    words=("\${COMP_WORDS[@]}")
    cword=$COMP_CWORD
    cur=\${COMP_WORDS[COMP_CWORD]}
    prev=\${COMP_WORDS[COMP_CWORD-1]}
  fi
  COMPREPLY=()
  local -a pos=() api=()
  local i w
  for ((i = 1; i < cword; i++)); do
    w=\${words[i]}
    case $w in
      --api) api=(--api "\${words[i+1]}"); ((i++)) ;;
      --api=*) api=(--api "\${w#--api=}") ;;
      --*=*) ;;
      ${valued.filter((o) => o.name !== 'api').map((o) => `--${o.name}`).join('|')}) ((i++)) ;;
      -*) ;;
      *) pos+=("$w") ;;
    esac
  done

  case $prev in
${valueCases.join('\n')}
  esac

  local cmd=\${pos[0]-} sub=\${pos[1]-} subs="" depth=1
  case $cmd in
${groupCases.join('\n')}
  esac
  if [ \${#pos[@]} -eq 0 ]; then
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W "-h --help -V --version" -- "$cur"))
    else
      COMPREPLY=($(compgen -W "${words(top)}" -- "$cur"))
    fi
    return
  fi
  if [ "$cmd" = help ]; then
    COMPREPLY=($(compgen -W "${words(top)}" -- "$cur"))
    return
  fi
  if [ -n "$subs" ]; then
    if [ \${#pos[@]} -eq 1 ] && [[ $cur != -* ]]; then
      COMPREPLY=($(compgen -W "$subs" -- "$cur"))
      return
    fi
    case $sub in
${aliasCases.map((a) => `      ${a}`).join('\n')}
    esac
    cmd="$cmd $sub"
    depth=2
  fi

  local opts="" args=""
  case $cmd in
${commandCases.join('\n')}
    *) return ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    return
  fi
  local -a kinds=($args)
  local kind=\${kinds[\${#pos[@]} - depth]-}
  case $kind in
    service) COMPREPLY=($(compgen -W "$(_sluice_names "\${words[0]}" services "\${api[@]}")" -- "$cur")) ;;
    backend) COMPREPLY=($(compgen -W "$(_sluice_names "\${words[0]}" backends "\${pos[depth]}" "\${api[@]}")" -- "$cur")) ;;
    choice:*) kind=\${kind#choice:}; COMPREPLY=($(compgen -W "\${kind//,/ }" -- "$cur")) ;;
  esac
  if declare -F __ltrim_colon_completions >/dev/null 2>&1; then
    __ltrim_colon_completions "$cur"
  fi
}

complete -F _sluice sluice
`;
}

/** `sluice __complete services` or `__complete backends SERVICE`: names, one a line; nothing on any failure. */
export async function completeNames(api: ApiClient, what: string, service?: string): Promise<string[]> {
  try {
    if (what === 'services') {
      const list = await api.request<{ name: string }[]>('GET', '/api/v1/services', undefined, { timeoutMs: COMPLETE_TIMEOUT_MS });
      return list.map((s) => s.name);
    }
    if (what === 'backends' && service !== undefined) {
      const list = await api.request<{ key: string }[]>('GET', `/api/v1/services/${encodeURIComponent(service)}/backends`, undefined,
        { timeoutMs: COMPLETE_TIMEOUT_MS });
      return list.map((b) => b.key);
    }
  } catch {
    // no daemon, no token, no such service: nothing to offer
  }
  return [];
}
