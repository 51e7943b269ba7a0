// Units: parse_size / parse_duration_ps (formats, whitespace, overflow, garbage) and formatting helpers.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "sim/base/units.h"

using namespace vfiosim;

namespace {
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
}  // namespace

TEST(ParseSize, PlainDecimal) {
  EXPECT_EQ(parse_size("4096"), std::optional<uint64_t>(4096));
  EXPECT_EQ(parse_size("0"), std::optional<uint64_t>(0));
  EXPECT_EQ(parse_size("1"), std::optional<uint64_t>(1));
  EXPECT_EQ(parse_size("123456789"), std::optional<uint64_t>(123456789));
}

TEST(ParseSize, BinarySuffixes) {
  EXPECT_EQ(parse_size("4KiB"), std::optional<uint64_t>(4 * 1024));
  EXPECT_EQ(parse_size("4K"), std::optional<uint64_t>(4 * 1024));
  EXPECT_EQ(parse_size("64B"), std::optional<uint64_t>(64));
  EXPECT_EQ(parse_size("3MiB"), std::optional<uint64_t>(3ULL * 1024 * 1024));
  EXPECT_EQ(parse_size("2M"), std::optional<uint64_t>(2ULL * 1024 * 1024));
  EXPECT_EQ(parse_size("1GiB"), std::optional<uint64_t>(1ULL << 30));
  EXPECT_EQ(parse_size("5G"), std::optional<uint64_t>(5ULL << 30));
  EXPECT_EQ(parse_size("1TiB"), std::optional<uint64_t>(1ULL << 40));
  EXPECT_EQ(parse_size("7T"), std::optional<uint64_t>(7ULL << 40));
  // A space between number and unit is accepted, as scenarios write "4 KiB".
  EXPECT_EQ(parse_size("4 KiB"), std::optional<uint64_t>(4096));
  // Suffix multiplies the whole number: 0 of anything is 0.
  EXPECT_EQ(parse_size("0KiB"), std::optional<uint64_t>(0));
}

TEST(ParseSize, Hexadecimal) {
  EXPECT_EQ(parse_size("0x1000"), std::optional<uint64_t>(4096));
  EXPECT_EQ(parse_size("0X1000"), std::optional<uint64_t>(4096));
  EXPECT_EQ(parse_size("0xdeadBEEF"), std::optional<uint64_t>(0xdeadbeefULL));
  EXPECT_EQ(parse_size("0xffffffffffffffff"), std::optional<uint64_t>(kMax));
  EXPECT_EQ(parse_size("0x1_0000"), std::optional<uint64_t>(0x10000));
}

TEST(ParseSize, HexTakesNoSuffix) {
  // 'B' is a hex digit here, so "0x1B" is 0x1B = 27, not "1 byte".
  EXPECT_EQ(parse_size("0x1B"), std::optional<uint64_t>(27));
  EXPECT_EQ(parse_size("0x10KiB"), std::nullopt);
  EXPECT_EQ(parse_size("0x10 KiB"), std::nullopt);
  EXPECT_EQ(parse_size("0x10M"), std::nullopt);
}

TEST(ParseSize, SurroundingWhitespace) {
  EXPECT_EQ(parse_size("  4KiB  "), std::optional<uint64_t>(4096));
  EXPECT_EQ(parse_size("\t0x10\n"), std::optional<uint64_t>(16));
  EXPECT_EQ(parse_size(" 4096 "), std::optional<uint64_t>(4096));
}

TEST(ParseSize, OverflowIsRejected) {
  // 20000000 TiB = 2e7 * 2^40 ~ 2.2e19 > 2^64 - 1 ~ 1.8e19.
  EXPECT_EQ(parse_size("20000000TiB"), std::nullopt);
  // (2^24 - 1) TiB fits exactly, 2^24 TiB = 2^64 does not.
  EXPECT_EQ(parse_size("16777215TiB"), std::optional<uint64_t>((16777215ULL) << 40));
  EXPECT_EQ(parse_size("16777216TiB"), std::nullopt);
  // Largest decimal and one past it.
  EXPECT_EQ(parse_size("18446744073709551615"), std::optional<uint64_t>(kMax));
  EXPECT_EQ(parse_size("18446744073709551616"), std::nullopt);
  EXPECT_EQ(parse_size("0x10000000000000000"), std::nullopt);
  EXPECT_EQ(parse_size("99999999999999999999999999999"), std::nullopt);
}

TEST(ParseSize, GarbageIsRejected) {
  for (const char* text : {"", "   ", "abc", "KiB", "-1", "-4KiB", "4XiB", "4 kilobytes", "1.5KiB", "0x",
                           "0xG", "4KiB B", "4 4", "+4", "4KiBx", "x4"}) {
    EXPECT_EQ(parse_size(text), std::nullopt) << "\"" << text << "\"";
  }
}

TEST(ParseDuration, Units) {
  EXPECT_EQ(parse_duration_ps("500ps"), std::optional<uint64_t>(500));
  EXPECT_EQ(parse_duration_ps("100ns"), std::optional<uint64_t>(100 * 1000));
  EXPECT_EQ(parse_duration_ps("2.5 us"), std::optional<uint64_t>(2500 * 1000));
  EXPECT_EQ(parse_duration_ps("10ms"), std::optional<uint64_t>(10ULL * 1000 * 1000 * 1000));
  EXPECT_EQ(parse_duration_ps("1s"), std::optional<uint64_t>(1000ULL * 1000 * 1000 * 1000));
  EXPECT_EQ(parse_duration_ps("0ns"), std::optional<uint64_t>(0));
  // Fractions of a picosecond round to the nearest picosecond.
  EXPECT_EQ(parse_duration_ps("1.0004ns"), std::optional<uint64_t>(1000));
  EXPECT_EQ(parse_duration_ps("1.0006ns"), std::optional<uint64_t>(1001));
}

TEST(ParseDuration, LargeValuesAreExact) {
  // 1e7 s = 1e19 ps: beyond INT64_MAX (~9.22e18) but inside uint64_t; must not wrap or saturate.
  EXPECT_EQ(parse_duration_ps("10000000s"), std::optional<uint64_t>(10000000000000000000ULL));
  // 5e6 s = 5e18 ps, below INT64_MAX.
  EXPECT_EQ(parse_duration_ps("5000000s"), std::optional<uint64_t>(5000000000000000000ULL));
}

TEST(ParseDuration, RejectsGarbageAndOutOfRange) {
  for (const char* text : {"", "10", "abc", "ns", "10 min", "10 hours", "-1ns", "10nss", "nan ns", "inf s",
                           "20000000s"}) {
    EXPECT_EQ(parse_duration_ps(text), std::nullopt) << "\"" << text << "\"";
  }
}

TEST(FormatBytes, PicksLargestUnitAtLeastOne) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(64), "64 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1024), "1 KiB");
  EXPECT_EQ(format_bytes(4096), "4 KiB");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(MiB + MiB / 2), "1.5 MiB");
  EXPECT_EQ(format_bytes(3 * MiB + MiB / 4), "3.25 MiB");
  EXPECT_EQ(format_bytes(GiB), "1 GiB");
  EXPECT_EQ(format_bytes(TiB), "1 TiB");
  EXPECT_EQ(format_bytes(1024 * TiB), "1 PiB");
  EXPECT_EQ(format_bytes(kMax), "16 EiB");
}

TEST(FormatNs, UpToThreeDecimalsTrimmed) {
  EXPECT_EQ(format_ns(0), "0");
  EXPECT_EQ(format_ns(1), "0.001");
  EXPECT_EQ(format_ns(1000), "1");
  EXPECT_EQ(format_ns(1500), "1.5");
  EXPECT_EQ(format_ns(1010), "1.01");
  EXPECT_EQ(format_ns(93334), "93.334");
  EXPECT_EQ(format_ns(12345678), "12345.678");
}

TEST(FormatFixed, FixedDecimals) {
  EXPECT_EQ(format_fixed(1.5, 3), "1.500");
  EXPECT_EQ(format_fixed(2.0, 0), "2");
  EXPECT_EQ(format_fixed(-3.14159, 2), "-3.14");
  EXPECT_EQ(format_fixed(1234567.891, 1), "1234567.9");
}

TEST(RoundTo, RoundsToDecimals) {
  EXPECT_DOUBLE_EQ(round_to(1.23456789, 6), 1.234568);
  EXPECT_DOUBLE_EQ(round_to(1.0 / 3.0, 3), 0.333);
  EXPECT_DOUBLE_EQ(round_to(2.5, 0), 3.0);
  EXPECT_DOUBLE_EQ(round_to(-2.5, 0), -3.0);
  EXPECT_DOUBLE_EQ(round_to(1234.5678, 2), 1234.57);
  EXPECT_DOUBLE_EQ(round_to(42.0, 6), 42.0);
}

TEST(RoundTo, NonFiniteValuesPassThrough) {
  EXPECT_TRUE(std::isnan(round_to(std::nan(""), 3)));
  EXPECT_EQ(round_to(std::numeric_limits<double>::infinity(), 3), std::numeric_limits<double>::infinity());
  EXPECT_EQ(round_to(-std::numeric_limits<double>::infinity(), 3), -std::numeric_limits<double>::infinity());
}
