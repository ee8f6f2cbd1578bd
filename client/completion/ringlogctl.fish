# fish completion for ringlogctl: the candidates come from `ringlogctl __complete`.
function __ringlogctl_complete
    set -l words (commandline -opc)
    set -e words[1]
    set -l current (commandline -ct)
    ringlogctl __complete $words "$current" 2>/dev/null
end
complete -c ringlogctl -f -a '(__ringlogctl_complete)'
