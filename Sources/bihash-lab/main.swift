print("bihash-lab")
