// The trainer's arithmetic against hand-computed values: Adam and SGD updates, the learning
// rate schedules (plateau decay against the best, inverse square root with warm-up),
// global-norm clipping, early-stopping records and the training state's exact YAML form.

#include "nmt/train/optimizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "nmt/core/error.h"
#include "nmt/train/early_stopping.h"
#include "nmt/train/grad_clip.h"
#include "nmt/train/lr_schedule.h"
#include "nmt/train/training_state.h"

namespace revnmt {
namespace {

// Two parameters: w [3] and b [1].
struct TwoParams {
  ParameterSet params;
  TwoParams() {
    params.add("w", Shape{3});
    params.add("b", Shape{1});
    set_values({1.0f, -2.0f, 0.5f}, 3.0f);
  }
  void set_values(std::vector<float> w, float b) {
    for (int i = 0; i < 3; ++i) params.get("w").data()[i] = w[i];
    params.get("b").data()[0] = b;
  }
  void set_grads(std::vector<float> w, float b) {
    for (int i = 0; i < 3; ++i) params.get("w").gradient()[i] = w[i];
    params.get("b").gradient()[0] = b;
  }
  float w(int i) const { return params.get("w").data()[i]; }
  float b() const { return params.get("b").data()[0]; }
};

TEST(TrainSgd, SubtractsLearningRateTimesGradient) {
  TwoParams p;
  SgdOptimizer sgd;
  p.set_grads({0.5f, -1.0f, 0.0f}, 2.0f);
  sgd.step(p.params, 0.1);
  EXPECT_FLOAT_EQ(p.w(0), 0.95f);
  EXPECT_FLOAT_EQ(p.w(1), -1.9f);
  EXPECT_FLOAT_EQ(p.w(2), 0.5f);
  EXPECT_FLOAT_EQ(p.b(), 2.8f);
  EXPECT_EQ(sgd.steps(), 1);
}

TEST(TrainAdam, FirstStepMovesEachWeightByTheLearningRate) {
  // Step 1: m̂ = g and v̂ = g², so every weight with g != 0 moves by lr * sign(g) (up to eps).
  TwoParams p;
  AdamOptimizer adam(p.params, AdamOptions{0.9, 0.999, 1e-8});
  p.set_grads({0.5f, -1.0f, 0.0f}, 1e-3f);
  adam.step(p.params, 0.1);
  EXPECT_NEAR(p.w(0), 0.9f, 1e-6);
  EXPECT_NEAR(p.w(1), -1.9f, 1e-6);
  EXPECT_FLOAT_EQ(p.w(2), 0.5f);  // zero gradient: m = 0, no move
  EXPECT_NEAR(p.b(), 2.9f, 1e-5);
  EXPECT_FLOAT_EQ(adam.first_moment(0).data<float>()[0], 0.05f);
  EXPECT_FLOAT_EQ(adam.second_moment(0).data<float>()[1], 0.001f);
}

TEST(TrainAdam, SecondStepMatchesHandComputedBiasCorrection) {
  TwoParams p;
  const double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  AdamOptimizer adam(p.params, AdamOptions{b1, b2, eps});
  const std::vector<float> g1 = {0.5f, -1.0f, 0.0f}, g2 = {0.25f, 1.0f, 2.0f};
  p.set_grads(g1, 0.0f);
  adam.step(p.params, lr);
  p.set_grads(g2, 0.0f);
  adam.step(p.params, lr);
  const double start[3] = {1.0, -2.0, 0.5};
  for (int i = 0; i < 3; ++i) {
    double value = start[i], m = 0, v = 0;
    for (int t = 1; t <= 2; ++t) {
      const double g = t == 1 ? g1[i] : g2[i];
      m = b1 * m + (1 - b1) * g;
      v = b2 * v + (1 - b2) * g * g;
      const double m_hat = m / (1 - std::pow(b1, t)), v_hat = v / (1 - std::pow(b2, t));
      value -= lr * m_hat / (std::sqrt(v_hat) + eps);
    }
    EXPECT_NEAR(p.w(i), value, 2e-6) << "w[" << i << "]";
  }
  // Written out for w[0]: m = 0.07, v = 0.00031225, m̂ = 0.07/0.19, v̂ = 0.00031225/0.001999.
  EXPECT_NEAR(p.w(0), 0.9 - 0.1 * (0.07 / 0.19) / std::sqrt(0.00031225 / 0.001999), 2e-6);
  EXPECT_EQ(adam.steps(), 2);
}

TEST(TrainAdam, StateRoundTripsExactly) {
  TwoParams a, b;
  AdamOptimizer adam_a(a.params, {}), adam_b(b.params, {});
  a.set_grads({0.3f, -0.7f, 0.1f}, 0.2f);
  adam_a.step(a.params, 0.01);
  adam_a.step(a.params, 0.01);
  adam_b.load_state(adam_a.state(), "test");
  b.set_values({a.w(0), a.w(1), a.w(2)}, a.b());
  a.set_grads({0.1f, 0.2f, -0.3f}, 0.4f);
  b.set_grads({0.1f, 0.2f, -0.3f}, 0.4f);
  adam_a.step(a.params, 0.01);
  adam_b.step(b.params, 0.01);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(a.w(i), b.w(i));
  EXPECT_EQ(a.b(), b.b());
  EXPECT_EQ(adam_b.steps(), 3);
}

TEST(TrainAdam, LoadStateRejectsMissingMoments) {
  TwoParams p;
  AdamOptimizer adam(p.params, {});
  SgdOptimizer sgd;
  try {
    adam.load_state(sgd.state(), "ckpt.rnmt");
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("ckpt.rnmt"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("m/w"), std::string::npos) << e.what();
  }
}

TrainConfig schedule_config(LrSchedule schedule, int warmup = 0) {
  TrainConfig train;
  train.lr = 0.5;
  train.lr_schedule = schedule;
  train.lr_warmup = warmup;
  train.lr_decay = 0.5;
  return train;
}

TEST(TrainLrSchedule, ConstantWithLinearWarmup) {
  LrScheduler constant(schedule_config(LrSchedule::constant));
  EXPECT_DOUBLE_EQ(constant.lr(1), 0.5);
  EXPECT_DOUBLE_EQ(constant.lr(100000), 0.5);
  LrScheduler warm(schedule_config(LrSchedule::constant, 4));
  EXPECT_DOUBLE_EQ(warm.lr(1), 0.125);
  EXPECT_DOUBLE_EQ(warm.lr(2), 0.25);
  EXPECT_DOUBLE_EQ(warm.lr(3), 0.375);
  EXPECT_DOUBLE_EQ(warm.lr(4), 0.5);
  EXPECT_DOUBLE_EQ(warm.lr(50), 0.5);
}

TEST(TrainLrSchedule, InverseSqrtPeaksAtTheEndOfWarmup) {
  LrScheduler s(schedule_config(LrSchedule::inverse_sqrt, 4));
  EXPECT_DOUBLE_EQ(s.lr(1), 0.125);
  EXPECT_DOUBLE_EQ(s.lr(2), 0.25);
  EXPECT_DOUBLE_EQ(s.lr(4), 0.5);
  EXPECT_DOUBLE_EQ(s.lr(16), 0.25);  // 0.5 * sqrt(4/16)
  EXPECT_DOUBLE_EQ(s.lr(100), 0.1);  // 0.5 * sqrt(4/100)
  LrScheduler no_warmup(schedule_config(LrSchedule::inverse_sqrt, 0));
  EXPECT_DOUBLE_EQ(no_warmup.lr(1), 0.5);
  EXPECT_DOUBLE_EQ(no_warmup.lr(4), 0.25);
}

TEST(TrainLrSchedule, PlateauDecaysAgainstTheBestNotThePrevious) {
  LrScheduler s(schedule_config(LrSchedule::plateau));
  EXPECT_FALSE(s.on_validation(10.0));  // first: best
  EXPECT_FALSE(s.on_validation(8.0));   // better
  EXPECT_TRUE(s.on_validation(9.0));    // worse than 8: decay
  EXPECT_DOUBLE_EQ(s.lr(7), 0.25);
  // Better than the previous (9) but not than the best (8): still a decay (pitfall P11).
  EXPECT_TRUE(s.on_validation(8.5));
  EXPECT_DOUBLE_EQ(s.lr(7), 0.125);
  EXPECT_FALSE(s.on_validation(7.0));  // new best: no decay
  EXPECT_TRUE(s.on_validation(7.0));   // equal is not an improvement
  EXPECT_DOUBLE_EQ(s.lr(7), 0.0625);
  EXPECT_EQ(s.state().decays, 3);
  EXPECT_DOUBLE_EQ(s.state().best_perplexity, 7.0);
}

TEST(TrainLrSchedule, OtherSchedulesIgnoreValidation) {
  LrScheduler s(schedule_config(LrSchedule::constant));
  s.on_validation(5.0);
  EXPECT_FALSE(s.on_validation(6.0));
  EXPECT_DOUBLE_EQ(s.lr(10), 0.5);
}

TEST(TrainLrSchedule, BelowMinimumAfterWarmupOnly) {
  TrainConfig train = schedule_config(LrSchedule::inverse_sqrt, 4);
  train.lr_min = 0.2;
  LrScheduler s(train);
  EXPECT_FALSE(s.below_minimum(1));   // 0.125, but still warming up
  EXPECT_FALSE(s.below_minimum(25));  // 0.2 is not below 0.2
  EXPECT_TRUE(s.below_minimum(26));
  train.lr_min = 0.0;
  EXPECT_FALSE(LrScheduler(train).below_minimum(1000000));
}

TEST(TrainGradClip, GlobalNormOverAllParameters) {
  TwoParams p;
  p.set_grads({3.0f, 0.0f, 4.0f}, 12.0f);  // sqrt(9 + 16 + 144) = 13
  EXPECT_DOUBLE_EQ(global_grad_norm(p.params), 13.0);
  EXPECT_DOUBLE_EQ(clip_gradients(p.params, 13.0, 0.0), 1.0);   // 0 = off
  EXPECT_DOUBLE_EQ(clip_gradients(p.params, 13.0, 20.0), 1.0);  // below the limit
  EXPECT_FLOAT_EQ(p.params.get("b").gradient()[0], 12.0f);
  EXPECT_DOUBLE_EQ(clip_gradients(p.params, 13.0, 6.5), 0.5);
  EXPECT_FLOAT_EQ(p.params.get("w").gradient()[0], 1.5f);
  EXPECT_FLOAT_EQ(p.params.get("w").gradient()[2], 2.0f);
  EXPECT_FLOAT_EQ(p.params.get("b").gradient()[0], 6.0f);
  EXPECT_NEAR(global_grad_norm(p.params), 6.5, 1e-6);
}

TEST(TrainGradClip, NonFiniteGradientGivesNonFiniteNorm) {
  TwoParams p;
  p.set_grads({1.0f, std::numeric_limits<float>::quiet_NaN(), 0.0f}, 0.0f);
  EXPECT_TRUE(std::isnan(global_grad_norm(p.params)));
  p.set_grads({1.0f, std::numeric_limits<float>::infinity(), 0.0f}, 0.0f);
  EXPECT_TRUE(std::isinf(global_grad_norm(p.params)));
}

TEST(TrainGradClip, LargeParameterSumsInFixedBlocks) {
  ParameterSet params;
  Parameter& big = params.add("big", Shape{100003});
  double expected = 0.0;
  for (int64_t i = 0; i < big.numel(); ++i) {
    big.gradient()[i] = float((i % 7) - 3) * 0.25f;
    expected += double(big.gradient()[i]) * double(big.gradient()[i]);
  }
  EXPECT_NEAR(global_grad_norm(params), std::sqrt(expected), 1e-9 * std::sqrt(expected));
}

TEST(TrainEarlyStopping, RecordsBestAndStalledByDirection) {
  MetricRecord ppl;
  EXPECT_TRUE(record_metric(ppl, Metric::perplexity, 10.0, 100));
  EXPECT_FALSE(record_metric(ppl, Metric::perplexity, 11.0, 200));
  EXPECT_FALSE(record_metric(ppl, Metric::perplexity, 10.0, 300));  // equal: stalled
  EXPECT_EQ(ppl.stalled, 2);
  EXPECT_TRUE(should_stop_early(ppl, 2));
  EXPECT_FALSE(should_stop_early(ppl, 3));
  EXPECT_FALSE(should_stop_early(ppl, 0));  // 0 = off
  EXPECT_TRUE(record_metric(ppl, Metric::perplexity, 9.0, 400));
  EXPECT_EQ(ppl.stalled, 0);
  EXPECT_EQ(ppl.best_update, 400);

  MetricRecord bleu;
  EXPECT_TRUE(record_metric(bleu, Metric::bleu, 10.0, 1));
  EXPECT_TRUE(record_metric(bleu, Metric::bleu, 12.0, 2));
  EXPECT_FALSE(record_metric(bleu, Metric::bleu, 11.0, 3));
  EXPECT_FALSE(record_metric(bleu, Metric::bleu, std::nan(""), 4));  // never a best
  EXPECT_DOUBLE_EQ(bleu.best, 12.0);
  EXPECT_EQ(bleu.stalled, 2);
}

TEST(TrainState, YamlRoundTripIsExact) {
  TrainingState s;
  s.epoch = 3;
  s.batch_in_epoch = 17;
  s.update = 12345;
  s.sentences = 777777;
  s.epoch_sentences = 1088;
  s.target_tokens = 9876543210;
  s.skipped_batches = 2;
  s.consecutive_faults = 1;
  s.elapsed_seconds = 1.0 / 3.0;
  s.metrics_bytes = 4096;
  s.last_validation_update = 12000;
  s.optimizer = "adam";
  s.lr = {0.5 * 0.5 * 0.1, true, 23.456789012345678, 2};
  s.metrics[Metric::perplexity] = {true, 23.456789012345678, 12000, 1, 24.1};
  s.metrics[Metric::bleu] = {true, 12.3456789, 11000, 2, std::nan("")};
  s.window.updates = 7;
  s.window.nll = 1e-300;
  s.window.grad_norm = 0.1 + 0.2;
  s.window.held_bytes = 123456;
  s.data_order = {{"train.seed", "1"}, {"training pairs", "40"}};
  const std::string yaml = training_state_to_yaml(s);
  const TrainingState back = training_state_from_yaml(yaml, "state");
  EXPECT_TRUE(back == s) << yaml;
  EXPECT_EQ(back.lr.factor, s.lr.factor);
  EXPECT_EQ(back.elapsed_seconds, s.elapsed_seconds);
  EXPECT_EQ(back.window.grad_norm, 0.1 + 0.2);
  EXPECT_EQ(back.metrics.at(Metric::perplexity).best, 23.456789012345678);
  EXPECT_TRUE(std::isnan(back.metrics.at(Metric::bleu).last));
  EXPECT_EQ(back.target_tokens, 9876543210);
  EXPECT_EQ(back.data_order.at("training pairs"), "40");
}

TEST(TrainState, MissingOrWrongKeysAreErrors) {
  const std::string yaml = training_state_to_yaml(TrainingState());
  std::string missing = yaml;
  missing.replace(missing.find("update:"), 7, "updatx:");
  EXPECT_THROW(training_state_from_yaml(missing, "ckpt (state)"), InputError);
  std::string wrong = yaml;
  wrong.replace(wrong.find("epoch: 1"), 8, "epoch: x");
  try {
    training_state_from_yaml(wrong, "ckpt (state)");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("epoch"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace revnmt
