// ConnectX data-path definitions (nic/mlx5/wqe.h) against rdma-core's
// <infiniband/mlx5dv.h> (Debian's libibverbs-dev): a second published
// definition beside Linux's headers (mlx5_linux_headers_test), and the only
// one of the CQE's l3_hdr_type values, which Linux 6.1's headers do not
// define. Compile-time checks; the test body only reports that they held.
#include <infiniband/mlx5dv.h>

#include <cstddef>

#include "gtest/gtest.h"
#include "nic/mlx5/wqe.h"

namespace safenic::mlx5 {
namespace {

// The byte a Cqe field starts at.
template <typename F>
constexpr size_t byte_of() {
  return F::kOffset;
}

// PRM "Completion Queue Entry": hds_ip_ext, then the parsed header types.
static_assert(offsetof(struct mlx5_cqe64, hds_ip_ext) == byte_of<Cqe::HDS_IP_EXT>());
static_assert(offsetof(struct mlx5_cqe64, l4_hdr_type_etc) == byte_of<Cqe::L4_L3_HDR_TYPE>());
static_assert(offsetof(struct mlx5_cqe64, byte_cnt) == byte_of<Cqe::BYTE_CNT>());
static_assert(kL2Ok == MLX5_CQE_L2_OK && kL3Ok == MLX5_CQE_L3_OK && kL4Ok == MLX5_CQE_L4_OK);
static_assert(kL3HdrNone == MLX5_CQE_L3_HDR_TYPE_NONE);
static_assert(kL3HdrIpv6 == MLX5_CQE_L3_HDR_TYPE_IPV6);
static_assert(kL3HdrIpv4 == MLX5_CQE_L3_HDR_TYPE_IPV4);
static_assert(sizeof(struct mlx5_cqe64) == Cqe::kSize);

TEST(Mlx5dv, CqeDefinitionsAgreeWithRdmaCore) {
  // The same fields read by rdma-core's layout and by ours, from one CQE.
  alignas(64) uint8_t bytes[64] = {};
  LayoutRef<Cqe>(bytes)
      .set<Cqe::HDS_IP_EXT>(kL3Ok | kL4Ok)
      .set<Cqe::L4_HDR_TYPE>(kL4HdrUdp)
      .set<Cqe::L3_HDR_TYPE>(kL3HdrIpv4);
  const auto* cqe = reinterpret_cast<const mlx5_cqe64*>(bytes);
  EXPECT_EQ(cqe->hds_ip_ext, MLX5_CQE_L3_OK | MLX5_CQE_L4_OK);
  // rdma-core has no accessor for the types: l4_hdr_type [6:4], l3_hdr_type [3:2].
  EXPECT_EQ((cqe->l4_hdr_type_etc >> 2) & 3, MLX5_CQE_L3_HDR_TYPE_IPV4);
  EXPECT_EQ((cqe->l4_hdr_type_etc >> 4) & 7, 2);  // UDP: Linux's CQE_L4_HDR_TYPE_UDP
}

}  // namespace
}  // namespace safenic::mlx5
