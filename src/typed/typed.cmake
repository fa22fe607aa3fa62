# src/typed/typed.cmake — the typed C API of the catalog (include/edxbus/events.h and its
# straight-line codecs), generated at build time and built as the edxbus_typed layer.
#
# Included by src/CMakeLists.txt after the bus layer. It builds the host tool edxbus_typed_gen
# (tools/typed_gen*.c + the payload-class parser of src/catalog + src/util), runs it on
# catalog/openedx_events.classes into ${EDXBUS_GENERATED_DIR} (include/edxbus/events.h,
# typed_encode.c, typed_decode.c, typed_json.c), and defines the layer from those and
# src/typed/*.c. Editing the .classes file or the generator reruns it.
set(TYPED_CLASSES ${CMAKE_SOURCE_DIR}/catalog/openedx_events.classes)
set(TYPED_HEADER ${EDXBUS_GENERATED_DIR}/include/edxbus/events.h)
set(TYPED_GENERATED ${TYPED_HEADER} ${EDXBUS_GENERATED_DIR}/typed_encode.c
    ${EDXBUS_GENERATED_DIR}/typed_decode.c ${EDXBUS_GENERATED_DIR}/typed_json.c)
file(MAKE_DIRECTORY ${EDXBUS_GENERATED_DIR}/include/edxbus)
file(GLOB TYPED_GEN_UTIL CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/util/*.c)
file(GLOB TYPED_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/typed/*.c)

add_executable(edxbus_typed_gen
  ${CMAKE_SOURCE_DIR}/tools/typed_gen.c
  ${CMAKE_SOURCE_DIR}/tools/typed_gen_header.c
  ${CMAKE_SOURCE_DIR}/tools/typed_gen_encode.c
  ${CMAKE_SOURCE_DIR}/tools/typed_gen_decode.c
  ${CMAKE_SOURCE_DIR}/tools/typed_gen_json.c
  ${CMAKE_SOURCE_DIR}/src/catalog/classes.c
  ${CMAKE_SOURCE_DIR}/src/catalog/classes_type.c
  ${CMAKE_SOURCE_DIR}/src/catalog/classes_schema.c
  ${TYPED_GEN_UTIL})
target_include_directories(edxbus_typed_gen PRIVATE ${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(edxbus_typed_gen PRIVATE PkgConfig::JANSSON)

add_custom_command(
  OUTPUT ${TYPED_GENERATED}
  COMMAND edxbus_typed_gen ${TYPED_CLASSES} ${EDXBUS_GENERATED_DIR} catalog/openedx_events.classes
  DEPENDS edxbus_typed_gen ${TYPED_CLASSES}
  COMMENT "Generating the typed API (events.h) from catalog/openedx_events.classes"
  VERBATIM)
add_custom_target(edxbus_typed_generated DEPENDS ${TYPED_GENERATED})

edxbus_layer(edxbus_typed FOLDER typed SEES avro catalog SOURCES ${TYPED_SOURCES} ${TYPED_GENERATED}
             DEPS PkgConfig::JANSSON m)
target_include_directories(edxbus_typed PUBLIC ${EDXBUS_GENERATED_DIR}/include)
add_dependencies(edxbus_typed edxbus_typed_generated)
install(FILES ${TYPED_HEADER} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/edxbus)
