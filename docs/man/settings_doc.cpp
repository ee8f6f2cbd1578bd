// ringlog-settings-doc: writes what documents ringlogd's settings from the table the daemon
// itself reads them with (kSettingDocs), so no setting can be missing from either:
//   ringlog-settings-doc example OUT           the example ringlogd.conf, every setting commented
//                                              out at its default
//   ringlog-settings-doc scdoc TEMPLATE OUT    TEMPLATE with @SETTINGS@ replaced by the settings
//                                              in scdoc (the source of ringlogd.conf(5))
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "service/daemon/config.h"

namespace {

// scdoc's markup characters, taken literally.
std::string scdocText(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '_' || c == '*' || c == '\\')
            out += '\\';
        out += c;
    }
    return out;
}

// The table's defaults in parentheses ("(log-root)") say where the default comes from; they are
// not values.
bool isValue(const std::string& value) {
    return value.empty() || value.front() != '(';
}

std::string example() {
    std::ostringstream out;
    out << "# ringlogd's configuration: ringlogd.conf(5). Every setting is shown commented out at\n"
           "# its default: uncomment a line to change it. Files in ringlogd.conf.d/*.conf are\n"
           "# read after this one, in lexical order; a later value wins.\n";
    for (const auto& doc : ringlog::kSettingDocs) {
        std::string value = doc.default_value;
        out << "\n# " << doc.description << "\n";
        if (isValue(value))
            out << "#" << doc.key << " = " << value << "\n";
        else
            out << "# (default: " << value.substr(1, value.size() - 2) << ")\n#" << doc.key
                << " =\n";
    }
    return out.str();
}

const char* reloadText(ringlog::ReloadEffect effect) {
    switch (effect) {
        case ringlog::ReloadEffect::kNow:
            return "a reload changes it at once";
        case ringlog::ReloadEffect::kNewContainers:
            return "a reload changes it for the containers attached after it";
        case ringlog::ReloadEffect::kRestart:
            return "changes only at a restart";
    }
    return "";
}

std::string scdocSettings() {
    std::ostringstream out;
    for (const auto& doc : ringlog::kSettingDocs) {
        std::string value = doc.default_value;
        out << "*" << doc.key << "*\n\t" << scdocText(doc.description) << ". Default: "
            << (isValue(value) ? "*" + scdocText(value) + "*"
                               : "the value of " + scdocText(value.substr(1, value.size() - 2)))
            << "; " << reloadText(doc.reload) << ".\n\n";
    }
    return out.str();
}

bool writeFile(const std::string& path, const std::string& text) {
    std::ofstream file(path);
    file << text;
    file.close();
    if (!file)
        std::cerr << "ringlog-settings-doc: cannot write " << path << "\n";
    return static_cast<bool>(file);
}

}  // namespace

int main(int argc, char** argv) {
    std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "example" && argc == 3)
        return writeFile(argv[2], example()) ? 0 : 1;
    if (mode == "scdoc" && argc == 4) {
        std::ifstream in(argv[2]);
        std::stringstream text;
        text << in.rdbuf();
        std::string page = text.str();
        auto at = page.find("@SETTINGS@");
        if (!in || at == std::string::npos) {
            std::cerr << "ringlog-settings-doc: " << argv[2] << " has no @SETTINGS@\n";
            return 1;
        }
        page.replace(at, 10, scdocSettings());
        return writeFile(argv[3], page) ? 0 : 1;
    }
    std::cerr << "usage: ringlog-settings-doc example OUT | scdoc TEMPLATE OUT\n";
    return 2;
}
