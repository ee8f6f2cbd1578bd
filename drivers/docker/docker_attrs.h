// Docker's extra log attributes, shared by the drivers that offer them: the labels, labels-regex,
// env and env-regex options (logger.Info.ExtraAttributes) and the tag template.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "drivers/log_driver.h"

namespace ringlog {

using KeyMod = std::string (*)(std::string_view);

// The attributes the options ask for, keys passed through `key_mod` when given. Regexes are
// ECMAScript, searched anywhere in the key (Go's MatchString).
Result<std::map<std::string, std::string>> extraAttributes(const ContainerInfo& info,
                                                           const OptionMap& options,
                                                           KeyMod key_mod);

// A tag template: text with {{.ID}} (short id), {{.FullID}}, {{.Name}}, {{.ImageName}} and
// {{.DaemonName}}; anything else is refused, naming the field.
Result<std::string> expandTag(const std::string& tmpl, const ContainerInfo& info);

// Docker's journald field-name rule for label and env keys.
std::string sanitizeJournalKey(std::string_view key);

}  // namespace ringlog
