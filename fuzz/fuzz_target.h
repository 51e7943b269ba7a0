// The libFuzzer entry point every target defines. Built with -DVFIOSIM_FUZZ=ON (clang) a target
// links libFuzzer; otherwise standalone_main.cpp replays files through it, which is how the
// test suite runs each target's corpus.
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
