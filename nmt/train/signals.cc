#include "nmt/train/signals.h"

#include <unistd.h>

#include <csignal>

namespace revnmt {

namespace {

volatile std::sig_atomic_t first_signal = 0;
struct sigaction previous_int, previous_term;

extern "C" void on_stop_signal(int signal) {
  if (first_signal != 0) _exit(128 + signal);  // second signal: leave now
  first_signal = signal;
}

}  // namespace

StopSignals::StopSignals() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, &previous_int);
  sigaction(SIGTERM, &action, &previous_term);
}

StopSignals::~StopSignals() {
  sigaction(SIGINT, &previous_int, nullptr);
  sigaction(SIGTERM, &previous_term, nullptr);
}

int StopSignals::received() { return first_signal; }

const char* StopSignals::name(int signal) {
  switch (signal) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    default:
      return "a signal";
  }
}

void StopSignals::reset() { first_signal = 0; }

}  // namespace revnmt
