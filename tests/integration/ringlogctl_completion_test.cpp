// Shell completion: the `ringlogctl __complete` engine, and the scripts `ringlogctl completion`
// prints, loaded in real bash (with bash-completion), fish and zsh (typed into under tmux), each
// completing a container's name that it asked the real ringlogd for on a private bus.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <thread>

#include "bus_fixture.h"
#include "harness.h"
#include "ringlog/client.h"

namespace ringlog::test {
namespace {

using Output = CommandOutput;

class RinglogctlCompletion : public PrivateBusTest {
  protected:
    void SetUp() override {
        PrivateBusTest::SetUp();
        std::string bin = fs::path(ringlogctlPath()).parent_path().string();
        env_["PATH"] = bin + ":/usr/local/bin:/usr/bin:/bin";
        env_["HOME"] = dir_.path().string();
        env_["TERM"] = "xterm";
        ringlog_attach a;
        ringlog_attach_init(&a);
        a.id = "f00d00000000000000000000000000000000000000000000000000000000beef";
        a.name = "web";
        a.stdout_fd = web_.read_fd;
        char err[256];
        ASSERT_EQ(ringlog_attach_send(d_->socket().c_str(), &a, err, sizeof err), 0) << err;
        web_.closeRead();
        for (const char* shell : {"bash", "zsh", "fish"}) {
            Output script = run({ringlogctlPath(), "completion", shell});
            ASSERT_EQ(script.status, 0) << script.err;
            scripts_[shell] = (dir_.path() / (std::string("completion.") + shell)).string();
            std::ofstream(scripts_[shell]) << script.out;
        }
    }

    std::string complete(std::vector<std::string> words) {
        words.insert(words.begin(), {ringlogctlPath(), "__complete"});
        return run(words).out;
    }

    Pipe web_;
    std::map<std::string, std::string> scripts_;
};

TEST_F(RinglogctlCompletion, TheEngineCompletesCommandsOptionsContainersDriversAndLogOptions) {
    EXPECT_EQ(complete({"lo"}), "logs\n");
    EXPECT_EQ(complete({"st"}), "status\nstats\n");
    EXPECT_EQ(complete({"logs", "we"}), "web\n");
    EXPECT_EQ(complete({"--socket", "/x", "logs", ""}), "web\n");
    EXPECT_EQ(complete({"logs", "f00d"}),
              "f00d00000000000000000000000000000000000000000000000000000000beef\n");
    EXPECT_EQ(complete({"inspect", "web", "w"}), "web\n") << "inspect takes several";
    EXPECT_EQ(complete({"status", "web", ""}), "") << "status takes one";
    EXPECT_EQ(complete({"ps", "--no"}), "--no-trunc\n");
    EXPECT_EQ(complete({"ps", "--so"}), "--socket\n") << "the global options too";
    EXPECT_EQ(complete({"run", "--log-driver", "j"}), "json-file\njournald\n");
    EXPECT_EQ(complete({"run", "--log-driver=k"}), "--log-driver=k8s-file\n");
    EXPECT_EQ(complete({"run", "--log-opt", "max-s"}), "max-size=\n");
    EXPECT_EQ(complete({"run", "--log-driver", "syslog", "--log-opt", "syslog-a"}),
              "syslog-address=\n");
    EXPECT_EQ(complete({"run", "--log-opt", "mo"}), "mode=\n") << "every driver's options";
    EXPECT_EQ(complete({"run", "--mode", ""}), "blocking\nnon-blocking\n");
    EXPECT_EQ(complete({"logs", "--stream", ""}), "stdout\nstderr\n");
    EXPECT_EQ(complete({"push", "--stream", ""}), "stdout\nstderr\n");
    EXPECT_EQ(complete({"push", ""}),
              "f00d00000000000000000000000000000000000000000000000000000000beef\n")
        << "push takes a full id, never a name";
    EXPECT_EQ(complete({"attach", "--push"}), "--push-only\n");
    EXPECT_EQ(complete({"completion", ""}), "bash\nzsh\nfish\n");
    EXPECT_EQ(complete({"run", "--", "l"}), "") << "CMD: the shell completes files";
    EXPECT_EQ(complete({"__"}), "") << "hidden commands are not offered";
}

TEST_F(RinglogctlCompletion, BashCompletesAContainerName) {
    Output out =
        run({"/bin/bash", "--norc", "-c",
             "source /usr/share/bash-completion/bash_completion && source " + scripts_["bash"] +
                 " && COMP_WORDS=(ringlogctl logs we) COMP_CWORD=2 "
                 "COMP_LINE='ringlogctl logs we' COMP_POINT=18 && _ringlogctl && "
                 "printf '%s\\n' \"${COMPREPLY[@]}\""});
    EXPECT_EQ(out.status, 0) << out.err;
    EXPECT_EQ(out.out, "web\n");
    EXPECT_EQ(out.err, "");
    Output opt =
        run({"/bin/bash", "--norc", "-c",
             "source /usr/share/bash-completion/bash_completion && source " + scripts_["bash"] +
                 " && COMP_WORDS=(ringlogctl logs --stream = std) COMP_CWORD=4 "
                 "COMP_LINE='ringlogctl logs --stream=std' COMP_POINT=28 && _ringlogctl && "
                 "printf '%s\\n' \"${COMPREPLY[@]}\""});
    EXPECT_EQ(opt.out, "stdout\nstderr\n") << opt.err;
}

TEST_F(RinglogctlCompletion, FishCompletesAContainerName) {
    Output out = run({"/usr/bin/fish", "--no-config", "-c",
                      "source " + scripts_["fish"] + "; complete -C 'ringlogctl logs we'"});
    EXPECT_EQ(out.status, 0) << out.err;
    EXPECT_EQ(out.out, "web\n");
    EXPECT_EQ(out.err, "");
}

// zsh's completion runs in its line editor only: zsh runs in a tmux pane, a Tab is typed, and the
// pane shows the completed line.
TEST_F(RinglogctlCompletion, ZshCompletesAContainerNameWhenTabIsTyped) {
    std::string socket = (dir_.path() / "tmux.sock").string();
    auto tmux = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"/usr/bin/tmux", "-S", socket});
        return run(args);
    };
    ASSERT_EQ(tmux({"new-session", "-d", "-x", "200", "-y", "20", "/usr/bin/zsh -f"}).status, 0);
    struct KillServer {
        std::function<void()> kill;
        ~KillServer() { kill(); }
    } kill_server{[&] { tmux({"kill-server"}); }};
    auto waitForPane = [&](const std::string& text) {
        // The pane is a terminal: there is no event to wait for but what it shows.
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        std::string pane;
        while (std::chrono::steady_clock::now() < deadline) {
            pane = tmux({"capture-pane", "-p"}).out;
            if (pane.find(text) != std::string::npos)
                return pane;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return "(not found) " + pane;
    };
    tmux({"send-keys",
          "autoload -Uz compinit && compinit -u -d " + (dir_.path() / "zcompdump").string() +
              " && source " + scripts_["zsh"] + " && echo LOADED-$((6*7))",
          "Enter"});
    std::string loaded = waitForPane("LOADED-42");
    EXPECT_NE(loaded.find("LOADED-42"), std::string::npos) << loaded;
    EXPECT_EQ(loaded.find("command not found"), std::string::npos) << loaded;
    // The X after the Tab shows the blank the completion put after the name (tmux's capture drops
    // trailing blanks).
    tmux({"send-keys", "ringlogctl logs we", "Tab", "X"});
    std::string pane = waitForPane("ringlogctl logs web X");
    EXPECT_NE(pane.find("ringlogctl logs web X"), std::string::npos) << pane;
}

}  // namespace
}  // namespace ringlog::test
