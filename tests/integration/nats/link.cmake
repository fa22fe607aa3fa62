# Included by tests/integration/CMakeLists.txt for each NATS test program (${target}): the tests
# read NATS messages back with libnats itself, against a nats-server each test starts.
target_link_libraries(${target} PRIVATE PkgConfig::NATS Threads::Threads)
