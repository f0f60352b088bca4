//! Compiles `src/faiss_ivf.cpp` against the headers of the FAISS that faiss-sys builds (its
//! cmake install root reaches this script as `DEP_FAISS_C_ROOT`).

fn main() {
    println!("cargo:rerun-if-changed=src/faiss_ivf.cpp");
    let root = std::env::var("DEP_FAISS_C_ROOT")
        .expect("faiss-sys (feature `static`) reports where it installed FAISS");
    cc::Build::new()
        .cpp(true)
        .std("c++17")
        .flag("-fopenmp")
        .file("src/faiss_ivf.cpp")
        .include(std::path::Path::new(&root).join("include"))
        .compile("recall_lab_faiss_ivf");
}
