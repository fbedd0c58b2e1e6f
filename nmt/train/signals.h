#pragma once
// SIGINT/SIGTERM handling for training, as Marian's --sigterm save-and-exit: the first
// signal only raises a flag that the training loop polls after each update (it then writes
// a checkpoint and returns); a second signal ends the process at once (exit code 128 +
// signal). That is safe because every file is written atomically: the last checkpoint on
// disk is complete.

namespace revnmt {

class StopSignals {
 public:
  // Installs the handlers; the destructor restores the previous ones.
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // The number of the first signal received since installation, or 0.
  static int received();
  // "SIGINT", "SIGTERM" or "signal N".
  static const char* name(int signal);
  // Forgets a received signal (tests).
  static void reset();
};

}  // namespace revnmt
