using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace QcPipeline.Service.ResultsStore.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class ResultImages : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "ImagesJson",
                table: "Results",
                type: "TEXT",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "ImagesJson",
                table: "Results");
        }
    }
}
