# Included by tests/integration/CMakeLists.txt for each Kafka test program (${target}): the Kafka
# tests run librdkafka's mock cluster and an in-memory Schema Registry served by libmicrohttpd.
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
target_link_libraries(${target} PRIVATE PkgConfig::RDKAFKA PkgConfig::CURL PkgConfig::MHD Threads::Threads)

# Once: the same servers as a process (registry_main.c), and the tests that drive the real
# edxbus binary against them (test_kafka_cli.sh, test_kafka_doctor.sh, test_kafka_bridge.sh; they
# start the servers with kafka_servers_lib.sh).
if(NOT TARGET kafka_registry_main)
  add_executable(kafka_registry_main ${CMAKE_CURRENT_LIST_DIR}/registry_main.c)
  target_include_directories(kafka_registry_main PRIVATE
    ${CMAKE_SOURCE_DIR}/tests ${CMAKE_SOURCE_DIR}/src ${CMAKE_CURRENT_LIST_DIR})
  target_compile_definitions(kafka_registry_main PRIVATE
    EDXBUS_TEST_DATA_DIR="${CMAKE_SOURCE_DIR}/tests/vectors")
  target_link_libraries(kafka_registry_main PRIVATE edxbus_static PkgConfig::RDKAFKA
    PkgConfig::CURL PkgConfig::MHD Threads::Threads)
  foreach(script test_kafka_cli test_kafka_doctor test_kafka_bridge)
    add_test(NAME integration/kafka/${script}
             COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/${script}.sh $<TARGET_FILE:edxbus>
                     $<TARGET_FILE:kafka_registry_main>
             WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
    set_tests_properties(integration/kafka/${script} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300
      ENVIRONMENT "EDXBUS_TEST_DATA_DIR=${CMAKE_SOURCE_DIR}/tests/vectors")
  endforeach()
endif()
