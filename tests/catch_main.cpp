// Catch2's main(), in its own library so its 15 s compile happens once.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
