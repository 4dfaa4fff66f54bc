// Test fixtures for the mlx5 command interface against the ConnectX model:
// a simulated function (Mlx5Test), and an HCA brought up with the objects a
// driver makes before its queues (Mlx5ObjectTest).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nic/mlx5/cmd.h"
#include "nic/mlx5/commands.h"
#include "nic/mlx5/hca.h"
#include "nic/mlx5/queues.h"
#include "sim/mlx5/model.h"
#include "sim/simulated_function.h"

namespace safenic {

class Mlx5Test : public ::testing::Test {
 protected:
  void make(sim::ConnectXProfile profile = sim::ConnectXProfile::cx5()) {
    model_ = std::make_shared<sim::ConnectXModel>(ctx_, profile);
    fn_ = std::make_unique<sim::SimulatedFunction>(model_, ctx_, "sim:cx5#0");
  }
  void expect_clean() { EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string(); }

  sim::SimContext ctx_;
  std::shared_ptr<sim::ConnectXModel> model_;
  std::unique_ptr<sim::SimulatedFunction> fn_;
};

// Firmware objects through the command interface: each bad command gets a
// failed status and a syndrome, and the driver's Status names the command.
class Mlx5ObjectTest : public Mlx5Test {
 protected:
  void SetUp() override {
    make(profile_);
    auto hca = mlx5::Hca::open(*fn_);
    ASSERT_TRUE(hca.ok()) << hca.status();
    hca_ = *std::move(hca);
  }
  mlx5::CommandQueue& c() { return hca_->cmdq(); }
  template <typename Cmd>
  uint32_t number(absl::StatusOr<mlx5::Output<typename Cmd::Out>> out) {
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? out->template get<typename Cmd::Out::NUMBER>() : 0;
  }
  // UAR, EQ, PD, TD and TIS, as a driver makes them before its queues.
  mlx5::QueueContext context() {
    mlx5::QueueContext q{.cmdq = &c(),
                         .fn = fn_.get(),
                         .bar = *fn_->bar(0),
                         .undo = &undo_,
                         .uar = 0,
                         .eqn = 0,
                         .pd = 0,
                         .tis = 0,
                         .lkey = sim::kModelResdLkey,
                         .min_inline = 1,
                         .enhanced_mpw = false,
                         .mtu = 1500,
                         .rx_checksums = false,
                         .rx_rss_hash = false};
    q.uar = number<mlx5::ALLOC_UAR>(c().run<mlx5::ALLOC_UAR>());
    eq_ = *DescriptorRing::create(fn_->dma(), 64, 64, "eq", 0, false);
    q.eqn = number<mlx5::CREATE_EQ>(c().run<mlx5::CREATE_EQ>(
        0,
        [&](LayoutRef<mlx5::CREATE_EQ::In> in, uint8_t* raw) {
          in.set<mlx5::CREATE_EQ::In::LOG_EQ_SIZE>(6).set<mlx5::CREATE_EQ::In::UAR_PAGE>(q.uar);
          mlx5::put_pas(raw, eq_);
        },
        8));
    q.pd = number<mlx5::ALLOC_PD>(c().run<mlx5::ALLOC_PD>());
    const uint32_t td =
        number<mlx5::ALLOC_TRANSPORT_DOMAIN>(c().run<mlx5::ALLOC_TRANSPORT_DOMAIN>());
    q.tis = number<mlx5::CREATE_TIS>(
        c().run<mlx5::CREATE_TIS>(0, [&](LayoutRef<mlx5::CREATE_TIS::In> in, uint8_t*) {
          in.set<mlx5::CREATE_TIS::In::TRANSPORT_DOMAIN>(td);
        }));
    return q;
  }
  static void expect_failure(const absl::Status& s, const std::string& command,
                             const std::string& status) {
    EXPECT_THAT(std::string(s.message()),
                ::testing::AllOf(::testing::HasSubstr(command + " failed: status " + status),
                                 ::testing::HasSubstr("syndrome 0x")));
  }
  sim::ConnectXProfile profile_ = sim::ConnectXProfile::cx5();  // a subclass may change it
  std::unique_ptr<mlx5::Hca> hca_;
  std::vector<mlx5::Undo> undo_;
  DescriptorRing eq_;
};

}  // namespace safenic
