# Included by tests/integration/CMakeLists.txt for each Kafka test program (${target}): the Kafka
# tests run librdkafka's mock cluster and an in-memory Schema Registry served by libmicrohttpd.
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
target_link_libraries(${target} PRIVATE PkgConfig::RDKAFKA PkgConfig::CURL PkgConfig::MHD Threads::Threads)
