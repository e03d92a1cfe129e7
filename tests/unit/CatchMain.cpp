// Catch2's main, compiled once and shared by every unit-test executable (it takes ~20 s to compile here).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
