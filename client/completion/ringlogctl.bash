# bash completion for ringlogctl: the candidates come from `ringlogctl __complete`.
_ringlogctl() {
    local cur words cword
    if declare -F _get_comp_words_by_ref >/dev/null; then
        # bash-completion: "--stream=std" stays one word
        _get_comp_words_by_ref -n =: cur words cword
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi
    local IFS=$'\n'
    local candidates
    candidates=($(ringlogctl __complete "${words[@]:1:cword-1}" "$cur" 2>/dev/null))
    # bash replaces only what follows the last '=' or ':' of the word
    if [[ $cur == *[=:]* ]]; then
        local head=${cur%"${cur##*[=:]}"}
        candidates=("${candidates[@]#"$head"}")
    fi
    COMPREPLY=("${candidates[@]}")
    # a --log-opt key ends in '=': its value follows without a space
    if [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]]; then
        compopt -o nospace 2>/dev/null
    fi
}
complete -o default -F _ringlogctl ringlogctl
