//! Compiles `src/index/faiss_ivf.cpp` against the headers of the FAISS that faiss-sys builds (its
//! cmake install root reaches this script as `DEP_FAISS_C_ROOT`).

fn main() {
    let cpp = "src/index/faiss_ivf.cpp";
    println!("cargo:rerun-if-changed={cpp}");
    let root = std::env::var("DEP_FAISS_C_ROOT")
        .expect("faiss-sys (feature `static`) reports where it installed FAISS");
    cc::Build::new()
        .cpp(true)
        .std("c++17")
        .flag("-fopenmp")
        .file(cpp)
        .include(std::path::Path::new(&root).join("include"))
        .compile("recall_lab_faiss_ivf");
}
